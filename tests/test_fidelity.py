"""docs/fidelity.md against the built-in grids: every ``name = value`` of its benchbench column
holds for every cell its row names, so the page cannot drift from what the grids train."""

import json
import re
from pathlib import Path

import pytest

from benchbench.planning.grids import get_grid

PAGE = Path(__file__).parent.parent / "docs" / "fidelity.md"
SETTING = re.compile(r"`(\w+) = ([^`]+)`")


def _rows(grid: str) -> list[dict[str, str]]:
    """The table under the heading that names ``grid``, as ``{column: text}`` rows."""
    section = PAGE.read_text().split(f"## `{grid}`", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [h.strip().lower() for h in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]


def _value(text: str):
    for kind in (int, float, json.loads):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _selected(cells, names: str):
    wanted = {n.strip() for n in names.split(",")}
    return [c for c in cells if "all" in wanted or c.method in wanted or c.dataset in wanted]


@pytest.mark.parametrize("grid", ["locatello2019", "locatello2020", "paper"])
def test_every_setting_the_page_states_is_what_the_grid_trains(grid):
    cells, spec, checked = get_grid(grid).cells(), get_grid(grid).spec, 0
    for row in _rows(grid):
        chosen = _selected(cells, row["cells"])
        assert chosen, f"{row['point']}: no cell of {grid} is {row['cells']!r}"
        if row["point"] == "Datasets":
            assert set(re.findall(r"`(\w+)`", row["benchbench"])) == {c.dataset for c in cells}
            checked += 1
        for name, text in SETTING.findall(row["benchbench"]):
            value = _value(text.strip())
            if name in spec and name != "seeds":  # a grid-wide key (representations)
                assert spec[name] == value, (row["point"], name, spec[name])
            elif name == "seeds":
                settings = {(c.dataset, c.method, tuple(sorted(c.hyperparameters.items()))) for c in chosen}
                assert len(chosen) == value * len(settings), row["point"]
            else:
                found = {c.hyperparameters[name] if name in c.hyperparameters else getattr(c, name) for c in chosen}
                assert found == {value}, (row["point"], name, found)
            checked += 1
    assert checked >= 10  # the page states the settings, it does not only describe them


def test_the_page_names_a_source_for_every_point():
    for grid in ("locatello2019", "locatello2020", "paper"):
        for row in _rows(grid):
            assert row["source"] and row["source's value"], row["point"]
            assert row["remaining difference"], row["point"]  # "none" is an answer; blank is not
