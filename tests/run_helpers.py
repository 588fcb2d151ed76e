"""Reading what a run wrote, and writing the grids it runs, the way the tests do."""

import json
import re
from pathlib import Path

from benchbench.storage.store import CellStore


def values(store: CellStore) -> dict[str, dict[str, float]]:
    """``{metric: values}`` of the cell's finished evaluations (one per metric, asserted)."""
    done = [r for r in store.evaluations() if r.status == "done"]
    metrics = [r.metric for r in done]
    assert len(metrics) == len(set(metrics)), f"several evaluations of one metric: {metrics}"
    return {r.metric: r.values for r in done}


#: A progress line's time stamp (benchbench.core.progress): what long work says, not an error.
PROGRESS = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def assert_one_line_error(out, *parts: str) -> None:
    """A CLI result that is a user error: exit code 2 and one line (besides the progress lines of
    work begun before it) that contains every part."""
    lines = [line for line in out.output.strip().splitlines() if not PROGRESS.match(line)]
    assert out.exit_code == 2 and len(lines) == 1 and all(p in lines[0] for p in parts), out.output


def toml_value(value) -> str:
    """A grid value in TOML: strings, numbers, booleans, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def grid_toml(spec: dict) -> str:
    """A grid as the TOML file a user would write: its top-level keys, ``[train]``, one
    ``[metrics.NAME]`` table per metric and one ``[[sweep]]`` per sweep (the tests' one writer)."""
    lines = [f"{k} = {toml_value(v)}" for k, v in spec.items() if k not in ("train", "metrics", "sweep")]
    for header, table in [("[train]", spec.get("train"))] + [
        (f"[metrics.{name}]", options) for name, options in spec.get("metrics", {}).items()
    ]:
        if table is not None:
            lines += [header, *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    for sweep in spec.get("sweep", []):
        lines += ["[[sweep]]", *(f"{k} = {toml_value(v)}" for k, v in sweep.items())]
    return "\n".join(lines) + "\n"


def write_grid(path: Path, spec: dict) -> Path:
    path.write_text(grid_toml(spec))
    return path
