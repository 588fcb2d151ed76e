"""Every exit says what happened: the exit code and the last line agree with what is on disk."""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SMOKE
from run_helpers import assert_one_line_error

from benchbench.cli import cli
from benchbench.storage.store import RunStore

REFERENCE = Path(__file__).parents[1] / "results" / "reference" / "quick"


@pytest.fixture
def copy(finished, tmp_path):
    shutil.copytree(finished, tmp_path / "smoke")
    return tmp_path / "smoke"


def flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def arrays(run):
    return sorted(run.glob("cells/*/evaluations/*/*/*.npy"))


def test_an_interruption_before_the_first_checkpoint_says_the_pack_restarts_from_step_0(
    tmp_path, cli_runner, interrupt_at
):
    interrupt_at(3)
    args = ["run", *SMOKE, "--steps", "10", "--checkpoint-every", "4", "--results", str(tmp_path)]
    out = cli_runner.invoke(cli, args)
    (pack,) = RunStore(tmp_path / "smoke").pack_stores()
    assert out.exit_code == 130 and out.output.splitlines()[-1] == (
        f"interrupted (SIGINT) at step 3 of pack {pack.id}; run the same command to train it again: before its "
        "first checkpoint, it restarts from step 0"
    )
    assert "2 interrupted" in cli_runner.invoke(cli, ["status", str(tmp_path / "smoke")]).output


def test_report_calls_a_cell_interrupted_where_status_does(copy, cli_runner):
    status = sorted(copy.glob("cells/*/status.json"))[0]
    status.write_text(status.read_text().replace('"status": "trained"', '"status": "running"'))
    assert "1 trained, 0 running, 1 interrupted" in cli_runner.invoke(cli, ["status", str(copy)]).output
    report = cli_runner.invoke(cli, ["report", str(copy), "--format", "csv"])
    assert report.exit_code == 0, report.output
    cells = pd.read_csv(copy / "report" / "cells.csv").set_index("cell")
    assert cells.at[status.parent.name, "status"] == "interrupted" and set(cells["status"]) == {
        "interrupted",
        "trained",
    }


def test_bench_interrupted_does_not_promise_a_resume(cli_runner, monkeypatch):
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("benchbench.training.bench.bench", stopped)
    out = cli_runner.invoke(cli, ["bench", "--device", "cpu"])
    assert out.exit_code == 130 and out.output == "interrupted (SIGINT); nothing was kept: run it again to measure\n"


def test_evaluate_of_a_run_with_nothing_trained_is_refused_and_writes_nothing(copy, cli_runner):
    for status in copy.glob("cells/*/status.json"):
        status.write_text('{"status": "pending"}')
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    out = cli_runner.invoke(cli, ["evaluate", str(copy)])
    assert_one_line_error(out, f"{copy} has no trained model to evaluate (2 pending): train it first with run")
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before


def test_status_verify_counts_what_it_checked_and_exits_1_on_a_flipped_byte(copy, cli_runner):
    checked = len(arrays(copy)) + 2 * 2  # each evaluation array, and each model's model.pt and train_log.csv
    out = cli_runner.invoke(cli, ["status", str(copy), "--verify"])
    assert out.exit_code == 0 and f"{checked} files checked against their checksums: all match" in out.output
    flip_a_byte(arrays(copy)[0])
    out = cli_runner.invoke(cli, ["status", str(copy), "--verify"])
    assert out.exit_code == 1, out.output
    assert out.output.strip().endswith(f"1 damaged file found among {checked} checked (said above)")
    assert f"{arrays(copy)[0]} has other bytes than were written (checksum)" in out.output


@pytest.mark.parametrize("command", ["evaluate", "run"])
def test_an_evaluation_array_with_other_bytes_is_computed_again_bit_identical(finished, copy, cli_runner, command):
    damaged = arrays(copy)[0]
    flip_a_byte(damaged)
    args = ["evaluate", str(copy)] if command == "evaluate" else ["run", *SMOKE, "--results", str(copy.parent)]
    out = cli_runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert (
        f"warning: {damaged} has other bytes than were written (checksum): the evaluation will be computed again"
        in (out.output)
    )
    if command == "evaluate":
        assert "1 evaluations computed" in out.output
    for a, b in zip(arrays(finished), arrays(copy), strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert cli_runner.invoke(cli, ["status", str(copy), "--verify"]).exit_code == 0


def test_compare_says_what_is_missing_instead_of_an_infinite_difference(finished, copy, cli_runner):
    lost = sorted(copy.glob("cells/*/evaluations/mig"))[0]
    shutil.rmtree(lost)
    out = cli_runner.invoke(cli, ["compare", str(finished), str(copy)])
    assert out.exit_code == 1 and "inf" not in out.output
    assert "mig.mig: identical (max |Δ| = 0 over 1 models; missing in B for 1)" in out.output
    assert out.output.strip().endswith(
        "1 of 23 outputs are missing in one run for some models (0 values missing in A, 1 in B): evaluate the run "
        "that lacks them"
    )


ENCODER = """
import torch

def encoder(x):
    codes = x.flatten(1)[:, :4].clone()
    if len(x) > 2:  # fine on the two images it is checked on, NaN on a metric's batches
        codes[:] = float("nan")
    return codes

helper = 3
"""


@pytest.fixture
def encoder_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_encoder.py").write_text(ENCODER)
    return tmp_path / "my_encoder.py"


def test_score_exits_1_when_an_evaluation_failed_and_retries_it_when_asked(encoder_file, tmp_path, cli_runner):
    args = ["score", "my_encoder.py:encoder", "--dataset", "shapes2d", "--results", str(tmp_path / "r"),
            "--profile", "fast", "--metrics", "mig", "--no-progress"]  # fmt: skip
    out = cli_runner.invoke(cli, args)
    assert out.exit_code == 1 and "mig" in out.output and "failed: ValueError" in out.output
    assert out.output.strip().endswith("1 of the 1 evaluations failed (listed above; --retry-failed to try again)")
    (record,) = (tmp_path / "r" / "scores").glob("cells/*/evaluations/mig/*/evaluation.json")
    first = record.stat().st_ino  # a record is written to a new file and renamed into place
    assert cli_runner.invoke(cli, args).exit_code == 1 and record.stat().st_ino == first  # kept, not recomputed
    assert cli_runner.invoke(cli, [*args, "--retry-failed"]).exit_code == 1
    assert record.stat().st_ino != first and '"status": "failed"' in record.read_text()  # computed again, failed


@pytest.mark.parametrize(
    "args, said",
    [
        (["baseline:random", "--latent-dim", "-3"], "Invalid value for '--latent-dim': -3 is not in the range x>=1."),
        (["baseline:random", "--latent-dim", "0"], "Invalid value for '--latent-dim': 0 is not in the range x>=1."),
        (
            ["baseline:random", "--latent-dim", "1000000000"],
            "baseline:random takes --latent-dim 1 to 4,096 (the values of one shapes2d image); got 1,000,000,000",
        ),
        (["baseline:pca", "--latent-dim", "5000"], "baseline:pca takes --latent-dim 1 to 4,096"),
        (["baseline:random", "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0."),
        (["my_encoder.py"], "give the object: my_encoder.py:NAME (it defines encoder)"),
        (["my_encoder.py:encodr"], "has no 'encodr'; did you mean encoder?"),
        (["my_encoder.py:nothing_like_it"], "has no 'nothing_like_it' (it defines encoder)"),
    ],
)
def test_a_bad_score_is_refused_in_one_line_before_anything_is_written(encoder_file, tmp_path, cli_runner, args, said):
    results = tmp_path / "r"
    out = cli_runner.invoke(cli, ["score", *args, "--dataset", "shapes2d", "--results", str(results)])
    assert_one_line_error(out, said)
    assert not results.exists()


@pytest.mark.parametrize(
    "members, said",
    [
        ({"codes": np.zeros((0, 4), np.float32)}, "codes are empty (shape (0, 4))"),
        ({"codes": np.zeros((5, 4), np.float32), "factors": np.zeros((5, 0))}, "factors are empty (shape (5, 0))"),
    ],
)
def test_an_empty_code_matrix_is_refused_in_one_line(tmp_path, cli_runner, members, said):
    np.savez(tmp_path / "codes.npz", **members)
    results = tmp_path / "r"
    out = cli_runner.invoke(cli, ["score", "--codes", str(tmp_path / "codes.npz"), "--results", str(results)])
    assert_one_line_error(out, said)
    assert not results.exists()


def test_a_reference_run_kept_without_weights_is_said_once_as_such(tmp_path, cli_runner):
    """Its manifest says ``"weights": "not kept"``: no warning per model, one note; a run that
    does not say so and lacks a model is damaged (``tests/test_user_errors.py``)."""
    run = tmp_path / "quick"
    shutil.copytree(REFERENCE, run)
    for model in run.glob("cells/*/model.pt"):  # a committed reference keeps none
        model.unlink()
    out = cli_runner.invoke(cli, ["status", str(run)])
    assert out.exit_code == 0 and "warning" not in out.output and "delete" not in out.output, out.output
    assert "models 3 trained" in out.output and out.output.count("3 without weights") == 1
    assert "note: a run kept without its models' weights (a reference run: records, curves and reports)" in out.output
    assert_one_line_error(cli_runner.invoke(cli, ["evaluate", str(run)]), "was kept without its models' weights")
    scored = cli_runner.invoke(cli, ["status", str(REFERENCE.parent / "baselines")]).output  # encoders keep none
    assert "without weights" not in scored and "note:" not in scored and "models 6 trained" in scored


def test_the_terminal_shows_accuracies_in_percent_as_the_tables_do(finished, capsys):
    """Higgins is stored in %, the FactorVAE score as a fraction: both read in % side by side."""
    from benchbench.cli import _print_results
    from benchbench.report.results import results_table

    table = results_table(RunStore(finished))
    table["beta_vae_score.eval_accuracy"], table["factor_vae_score.eval_accuracy"] = 51.8, 0.608
    _print_results(table, [s.cell() for s in RunStore(finished).cell_stores()])
    rows = {p[0]: p[1:] for p in (re.split(r"\s{2,}", line.strip()) for line in capsys.readouterr().out.splitlines())}
    assert rows["beta_vae_score.eval_accuracy (%)"] == ["51.8", "51.8"]
    assert rows["factor_vae_score.eval_accuracy (%)"] == ["60.8", "60.8"]
    assert "mig.mig" in rows and "factor_vae_score.eval_accuracy" not in rows  # MIG has no unit


def test_status_and_the_report_count_what_was_asked_of_each_scored_model(tmp_path, cli_runner):
    common = ["--dataset", "shapes2d", "--profile", "fast", "--results", str(tmp_path), "--no-progress"]
    assert cli_runner.invoke(cli, ["score", "baseline:random", "--metrics", "mig", *common]).exit_code == 0
    out = cli_runner.invoke(cli, ["score", "baseline:pca", "--metrics", "mig,sap,mcc", *common])
    assert out.exit_code == 0, out.output
    (mcc,) = (tmp_path / "scores").glob("cells/*/evaluations/mcc")
    shutil.rmtree(mcc)  # as if the command had been stopped before its last metric
    status = cli_runner.invoke(cli, ["status", str(tmp_path / "scores")]).output
    assert "evaluations 3 done, 0 failed, 1 missing" in status  # not the 2 of the random net, never asked
    cli_runner.invoke(cli, ["report", str(tmp_path / "scores"), "--format", "html"])
    page = (tmp_path / "scores" / "report" / "index.html").read_text()
    assert "Metrics</dt><dd>2 of the 3 asked have results" in page
