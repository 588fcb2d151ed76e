"""A damaged run is diagnosed in one line per file, never a traceback, and the rest goes on."""

import json
import shutil

import pytest
import torch
from conftest import SMOKE
from run_helpers import values

from benchbench.cli import cli
from benchbench.storage.store import RunStore


def first_cell(run):
    return sorted((run / "cells").iterdir())[0]


def garbage(name, text):
    return lambda run: (first_cell(run) / name).write_text(text)


def first_evaluation(run):
    return sorted(first_cell(run).glob("evaluations/*/*/evaluation.json"))[0]


def edit_seed(run):
    config = first_cell(run) / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "seed": 7}))


DAMAGES = {
    "status garbage": (garbage("status.json", "{{not json"), "status.json is not valid JSON: its model.pt is complete"),
    "status empty": (garbage("status.json", ""), "status.json is not valid JSON: its model.pt is complete"),
    "status truncated": (garbage("status.json", '{"status": "tra'), "status.json is not valid JSON"),
    "status unknown": (garbage("status.json", '{"status": "weird"}'), "status.json has no known status"),
    "evaluation garbage": (
        lambda run: first_evaluation(run).write_text("\x00\x01"),
        "evaluation.json is not a readable evaluation record: the evaluation will be computed again",
    ),
    "manifest garbage": (
        lambda run: (run / "manifest.json").write_text("]["),
        "manifest.json is not valid JSON: read as empty",
    ),
    "config garbage": (garbage("config.json", "nope"), "config.json is not a cell's config: cell left out"),
    "config edited": (edit_seed, "/s7), not"),
    "log garbage": (garbage("train_log.csv", "step,loss\n1,2\nxx,yy\n"), "train_log.csv has 20 bytes, not the"),
    "log emptied": (garbage("train_log.csv", ""), "train_log.csv has 0 bytes, not the"),
    "model truncated": (
        lambda run: (first_cell(run) / "model.pt").write_bytes((first_cell(run) / "model.pt").read_bytes()[:100]),
        "model.pt has 100 bytes, not the",
    ),
    "model deleted": (lambda run: (first_cell(run) / "model.pt").unlink(), "model.pt is missing: the model cannot"),
    "array garbage": (
        lambda run: next(first_evaluation(run).parent.parent.parent.glob("*/*/*.npy")).write_bytes(b"garbage"),
        ".npy has 7 bytes, not the",
    ),
    "folder deleted": (lambda run: shutil.rmtree(first_cell(run)), None),
}


#: Variants of a case the everyday loop already covers (docs/development.md): they run in the full suite.
LIKE_ANOTHER = {"status empty", "status truncated", "config edited", "log emptied", "model deleted"}


@pytest.mark.parametrize(
    "damage", [pytest.param(d, marks=pytest.mark.slow) if d in LIKE_ANOTHER else d for d in DAMAGES]
)
def test_a_damaged_file_is_one_line_and_the_rest_goes_on(finished, tmp_path, cli_runner, damage):
    hurt, said = DAMAGES[damage]
    run = tmp_path / "smoke"
    shutil.copytree(finished, run)
    name = first_cell(run).name
    hurt(run)
    for args in (["status", str(run)], ["report", str(run), "--format", "csv,html"], ["run", *SMOKE, "--results",
                 str(tmp_path)]):  # fmt: skip
        out = cli_runner.invoke(cli, args)
        assert out.exit_code == 0, (args, out.output)
        assert "Traceback" not in out.output
        warnings = [line for line in out.output.splitlines() if line.startswith("warning: ")]
        if said:
            assert len(warnings) == 1 and said in warnings[0], (args, out.output)
        else:
            assert not warnings, out.output
    status = cli_runner.invoke(cli, ["status", str(run)]).output
    if damage.startswith("config"):
        assert "1 damaged" in status and f"damaged: cell {name}: config unreadable" in status
    else:  # the rerun repaired what it could: everything trained and evaluated again
        assert "models 2 trained" in status and "evaluations 12 done, 0 failed, 0 missing" in status
        assert values(RunStore(run).cell_store(name)) == values(RunStore(finished).cell_store(name))


@pytest.mark.slow
@pytest.mark.parametrize("content", [b"", b"garbage, not a checkpoint"])
def test_a_damaged_checkpoint_restarts_its_pack_and_says_so(tmp_path, cli_runner, interrupt_at, content):
    args = ["run", *SMOKE, "--steps", "10", "--checkpoint-every", "4", "--results"]
    assert cli_runner.invoke(cli, [*args, str(tmp_path / "straight")]).exit_code == 0
    interrupt_at(7)
    assert cli_runner.invoke(cli, [*args, str(tmp_path / "hurt")]).exit_code == 130
    interrupt_at(None)
    (pack,) = RunStore(tmp_path / "hurt" / "smoke").pack_stores()
    pack.checkpoint_path.write_bytes(content)
    out = cli_runner.invoke(cli, [*args, str(tmp_path / "hurt")])
    assert out.exit_code == 0, out.output
    (warning,) = [line for line in out.output.splitlines() if line.startswith("warning: ")]
    problem = "is empty" if not content else "cannot be read ("
    assert f"{pack.checkpoint_path} {problem}" in warning and warning.endswith("the pack starts over from step 0")
    for store in RunStore(tmp_path / "straight" / "smoke").cell_stores():
        again = RunStore(tmp_path / "hurt" / "smoke").cell_store(store.path.name)
        assert all(torch.equal(a, b) for a, b in zip(store.load_model().values(), again.load_model().values()))
        assert store.log_path.read_bytes() == again.log_path.read_bytes()


def test_same_size_damage_is_seen_by_its_checksum_and_lost_records_are_restored(finished, tmp_path, cli_runner):
    """Bytes zeroed in place keep a file's size: ``status`` does not open them, ``status --verify``
    and ``run`` do.  A deleted ``pack.json`` is written again from the cells' status, and an
    evaluation folder replaced by a file is put back."""
    run = tmp_path / "smoke"
    shutil.copytree(finished, run)
    model = first_cell(run) / "model.pt"
    model.write_bytes(bytes(model.stat().st_size))
    (pack,) = run.glob("packs/*/pack.json")
    recorded = pack.read_bytes()
    pack.unlink()
    evaluation = sorted((run / "cells").glob("*/evaluations/*/*"))[-1]
    shutil.rmtree(evaluation)
    evaluation.write_text("not a folder")
    quiet = cli_runner.invoke(cli, ["status", str(run)]).output
    assert "warning:" not in quiet and "models 2 trained" in quiet
    checked = cli_runner.invoke(cli, ["status", str(run), "--verify"]).output
    assert f"warning: {model} has other bytes than were written (checksum)" in checked
    assert "1 without weights" in checked
    out = cli_runner.invoke(cli, ["run", *SMOKE, "--results", str(tmp_path)])
    assert out.exit_code == 0 and "Traceback" not in out.output, out.output
    warnings = [line for line in out.output.splitlines() if line.startswith("warning: ")]
    assert sorted(w.split(": ", 1)[1].split(" ", 1)[1] for w in warnings) == sorted([
        "has other bytes than were written (checksum): the model cannot be used; running its grid again retrains "
        "it with its pack",
        "is missing: written again from its 2 cells' status",
        "is not a folder: replaced by the evaluation",
    ]), warnings  # fmt: skip
    assert pack.read_bytes() == recorded
    status = cli_runner.invoke(cli, ["status", str(run), "--verify"]).output
    assert "warning:" not in status and "models 2 trained" in status and "evaluations 12 done" in status
    for name in (first_cell(run).name, evaluation.parent.parent.parent.name):
        assert values(RunStore(run).cell_store(name)) == values(RunStore(finished).cell_store(name))
    assert model.read_bytes() == (finished / "cells" / first_cell(run).name / "model.pt").read_bytes()
