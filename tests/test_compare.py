"""``benchbench compare``: the reference run against itself and against edited copies."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_report import add

from benchbench.cli import cli
from benchbench.core.records import Manifest
from benchbench.storage.store import RunStore

REFERENCE = Path(__file__).parent.parent / "results" / "reference" / "quick"


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns("report", ".lock*"))
    return target


def edit(run_path: Path, metric: str, output: str, change) -> tuple[str, float, float]:
    """Change ``metric.output`` in the first cell's record; returns (cell, old, new)."""
    record_path = sorted((run_path / "cells").glob(f"*/evaluations/{metric}/*/evaluation.json"))[0]
    record = json.loads(record_path.read_text())
    old = record["values"][output]
    record["values"][output] = new = change(old)
    record_path.write_text(json.dumps(record))
    return record_path.parents[3].name, old, new


def test_reference_run_against_itself_is_identical(copy, cli_runner, tmp_path):
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy), "--out", str(tmp_path / "side.csv")])
    assert out.exit_code == 0, out.output
    assert "mig.mig: identical (max |Δ| = 0 over 3 models)" in out.output
    assert "all 28 outputs within 0 on 3 shared models" in out.output
    side = pd.read_csv(tmp_path / "side.csv")
    assert side["cell"].nunique() == 3 and (side["difference"].fillna(0) == 0).all()


def test_a_changed_value_differs_and_fails(copy, cli_runner):
    cell, old, new = edit(copy, "mig", "mig", lambda v: v + 0.01)
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)])
    assert out.exit_code == 1
    assert "mig.mig: differs (max |Δ| = 0.01 over 3 models)" in out.output
    assert "sap.sap: identical" in out.output and "1 of 28 outputs differ by more than 0" in out.output
    row = next(line for line in out.output.splitlines() if line.startswith(cell))
    assert f"{old:.6g}" in row and f"{new:.6g}" in row and "0.01" in row
    relaxed = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy), "--tolerance", "0.02"])
    assert relaxed.exit_code == 0 and "mig.mig: within tolerance" in relaxed.output


def test_a_difference_of_float_rounding_is_said_as_such(copy, cli_runner):
    """2 units in float32's last place of the MIG (relative 2.4e-7) is rounding; 2e-6 relative is not."""
    edit(copy, "mig", "mig", lambda v: float(v * (1 + 2.4e-7)))
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)])
    assert out.exit_code == 1 and "mig.mig: within float rounding (max |Δ| = " in out.output
    edit(copy, "mig", "mig", lambda v: float(v * (1 + 2e-6)))
    assert "mig.mig: differs" in cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)]).output


def test_differences_within_the_seeds_spread(tmp_path, cell, cli_runner):
    runs = []
    for name, shift in (("a", 0.0), ("b", 0.5)):
        run = RunStore(tmp_path / name)
        run.write_manifest(Manifest.from_json({"grid": {"name": "mine"}}))
        for seed, higgins in enumerate((80.0, 84.0)):  # std over seeds 2.83
            add(run, cell("vae", seed=seed), higgins + shift, 0.002 + (0.001 if name == "b" else 0))
        runs.append(str(run.path))
    out = cli_runner.invoke(cli, ["compare", *runs])
    assert out.exit_code == 1  # beyond the default tolerance of 0
    assert "beta_vae_score.eval_accuracy: within the seeds' spread (max |Δ| = 0.5" in out.output
    assert "reconstruction_error.mse: differs (max |Δ| = 0.001" in out.output  # both seeds 0.002: spread 0


def test_evaluations_with_other_options_are_not_compared(copy, cli_runner):
    """The copy keeps only mig's second evaluation (other options): A and B show different ones."""
    manifest = json.loads((copy / "manifest.json").read_text())
    grid_key = next(e["key"] for e in manifest["evaluations"] if e["metric"] == "mig")
    manifest["evaluations"] = [e for e in manifest["evaluations"] if e["metric"] != "mig"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    for folder in copy.glob(f"cells/*/evaluations/mig/{grid_key}"):
        shutil.rmtree(folder)
    assert len({p.name for p in copy.glob("cells/*/evaluations/mig/*")}) == 1
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)])
    assert f"note: mig: not compared, its evaluations differ ({grid_key} in A" in out.output
    assert "mig.mig" not in out.output and out.exit_code == 0


def test_cells_an_interrupted_run_has_not_trained_are_left_out_with_a_note(copy, cli_runner):
    pending = sorted((copy / "cells").iterdir())[0]  # as if the run was stopped before this cell trained
    (pending / "status.json").write_text(json.dumps({"status": "pending"}))
    shutil.rmtree(pending / "evaluations")
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)])
    assert out.exit_code == 0, out.output
    assert "note: 1 shared cells not trained in both runs: not compared" in out.output
    assert "all 28 outputs within 0 on 2 shared models" in out.output


def test_a_run_with_no_model_folder_yet_is_one_line(copy, cli_runner):
    """Its manifest lists cells, none has a folder (an import or a run stopped before any)."""
    shutil.rmtree(copy / "cells")
    out = cli_runner.invoke(cli, ["compare", str(REFERENCE), str(copy)])
    assert out.exit_code == 2 and out.output.strip().splitlines() == [
        f"Error: {REFERENCE} and {copy} share no cell: no model was trained with the same config in both"
    ], out.output
