"""What a user meets on a run that lacks something: a note or one line (exit 2), never a traceback."""

import shutil

import pandas as pd
from run_helpers import assert_one_line_error, write_grid

from benchbench.cli import cli

GRID = {
    "name": "bare",
    "seeds": 1,
    "train": {"arch": "conv", "latent_dim": 4, "steps": 2, "batch_size": 8, "lr": 1e-3},
    "sweep": [{"datasets": ["shapes2d"], "method": "vae"}],
}


def bare_run(tmp_path, cli_runner, bars=("--no-progress",), **extra):
    grid = write_grid(tmp_path / "bare.toml", {**GRID, **extra})
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--device", "cpu", *bars, "--results", str(tmp_path)],
                            catch_exceptions=False)  # fmt: skip
    assert out.exit_code == 0, out.output
    return tmp_path / "bare", out.output


def test_a_grid_without_metrics_says_so_and_its_run_reports(tmp_path, cli_runner):
    run, output = bare_run(tmp_path, cli_runner, metric_profile="fast")  # a profile of the metrics there are
    assert "names no metrics: nothing was evaluated" in output
    out = cli_runner.invoke(cli, ["report", str(run), "--format", "csv"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    rows = pd.read_csv(run / "report" / "aggregate.csv")
    assert rows[["dataset", "label"]].values.tolist() == [["shapes2d", "VAE"]]  # the model, no averages


def test_runs_without_a_trained_model_are_one_line_refusals(tmp_path, cli_runner):
    run, _ = bare_run(tmp_path, cli_runner, metrics={"mig": {"num_train": 100}})
    empty = tmp_path / "empty"  # the same cells, interrupted before any finished
    shutil.copytree(run, empty)
    for cell in (empty / "cells").iterdir():
        for name in ("status.json", "model.pt"):
            (cell / name).unlink()
        shutil.rmtree(cell / "evaluations")
    out = cli_runner.invoke(cli, ["report", str(empty)])
    assert_one_line_error(out, "has no trained model yet (1 pending): nothing to report")
    assert not (empty / "report").exists()
    out = cli_runner.invoke(cli, ["compare", str(run), str(empty)])
    assert_one_line_error(out, "share 1 cells but no evaluated output", "1 in A, 0 in B")


def test_a_run_belongs_to_its_grid_unless_extended(tmp_path, cli_runner):
    run, _ = bare_run(tmp_path, cli_runner, metrics={"mig": {"num_train": 100}})
    other = write_grid(tmp_path / "other.toml", {**GRID, "name": "other", "seeds": [1]})
    args = ["run", "--grid", str(other), "--name", "bare", "--device", "cpu", "--no-progress", "--results",
            str(tmp_path)]  # fmt: skip
    before = (run / "manifest.json").read_bytes()
    assert_one_line_error(cli_runner.invoke(cli, args), "is a run of grid 'bare', not 'other'", "--extend")
    assert (run / "manifest.json").read_bytes() == before and len(list((run / "cells").iterdir())) == 1
    out = cli_runner.invoke(cli, [*args, "--extend"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    manifest = __import__("json").loads((run / "manifest.json").read_text())
    assert manifest["grid"]["name"] == "other" and [g["name"] for g in manifest["extended"]] == ["bare"]
    assert [e["metric"] for e in manifest["evaluations"]] == ["mig"]  # the first grid's evaluations kept
    out = cli_runner.invoke(cli, ["report", str(run), "--format", "csv"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert pd.read_csv(run / "report" / "cells.csv")["seed"].tolist() == [0, 1]


def test_a_trained_model_without_weights_is_said_left_out_and_fails_the_command(tmp_path, cli_runner):
    run, _ = bare_run(tmp_path, cli_runner, metrics={"mig": {"num_train": 100}})
    (model,) = run.glob("cells/*/model.pt")
    model.unlink()
    out = cli_runner.invoke(cli, ["status", str(run)])
    assert "1 without weights" in out.output and f"warning: {model} is missing" in out.output
    out = cli_runner.invoke(cli, ["evaluate", str(run), "--metrics", "mcc", "--device", "cpu", "--no-progress"])
    assert out.exit_code == 1 and "0 evaluations computed" in out.output, out.output
    assert "; 1 trained models without weights left out" in out.output
    assert "1 trained models have no usable weights" in out.output
    assert not list(run.glob("cells/*/evaluations/mcc"))  # no failed record written for it


def test_run_asks_for_a_grid_and_says_what_comes_next(tmp_path, cli_runner):
    assert_one_line_error(cli_runner.invoke(cli, ["run"]), "give --grid: quick", "as measured")
    run, output = bare_run(tmp_path, cli_runner, bars=())  # the default, off a terminal: no bars
    assert f"next: benchbench report {run}" in output and "step/s" not in output
    (cell,) = run.glob("cells/*")
    (cell / "status.json").write_text('{"status": "running"}')  # killed mid-training, no writer now
    out = cli_runner.invoke(cli, ["status", str(run), "--cells"])
    assert "interrupted" in out.output and "(1 cell)" in out.output, out.output


def test_metric_options_out_of_range_are_refused_before_anything_runs(tmp_path, cli_runner):
    for metrics, message in [
        ({"mig": {"num_train": -5}}, "metrics.mig.num_train: must be a finite number ≥ 1, got -5"),
        ({"irs": {"diff_quantile": 1.5}}, "metrics.irs.diff_quantile: must be between 0 and 1, got 1.5"),
        ({"downstream_task": {"num_train": [10, 0]}}, "num_train: must be a finite number ≥ 1, got [10, 0]"),
    ]:
        grid = write_grid(tmp_path / "bad.toml", {**GRID, "metrics": metrics})
        out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--results", str(tmp_path), "--no-progress"])
        assert_one_line_error(out, message)
    assert not (tmp_path / "bare").exists()
    run, _ = bare_run(tmp_path, cli_runner, metrics={"mig": {"num_train": 100}})
    out = cli_runner.invoke(cli, ["evaluate", str(run), "--option", "mig.num_bins=0", "--no-progress"])
    assert_one_line_error(out, "mig.num_bins: must be a finite number ≥ 1, got 0")


def test_cells_that_cannot_fit_are_refused_before_anything_trains(tmp_path, cli_runner):
    """A batch or a network larger than memory, a run that never ends: one line each (exit 2),
    the size asked against what allows it, nothing written."""
    for train, message in [
        ({"batch_size": 10_000_000}, "latent_dim 4, batch_size 10000000 (conv, shapes2d): one model's training step"),
        ({"latent_dim": 100_000_000}, "latent_dim 100000000, batch_size 8 (conv, shapes2d): one model's training"),
        ({"steps": 2**62}, "train.steps: must be at most 1,000,000,000, got 4,611,686,018,427,387,904"),
    ]:
        grid = write_grid(tmp_path / "big.toml", {**GRID, "train": {**GRID["train"], **train}})
        out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--device", "cpu", "--results", str(tmp_path)])
        assert_one_line_error(out, message)
        assert not (tmp_path / "bare").exists()


def test_a_metric_option_naming_a_factor_the_dataset_lacks_is_refused_up_front(tmp_path, cli_runner):
    grid = write_grid(tmp_path / "nope.toml", {**GRID, "metrics": {"beta_vae_score": {"factors": ["nope"]}}})
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--device", "cpu", "--results", str(tmp_path)])
    assert_one_line_error(out, "beta_vae_score.factors: shapes2d has no factor 'nope' (its factors: shape, scale,")
    assert not (tmp_path / "bare").exists()
    run, _ = bare_run(tmp_path, cli_runner)
    option = "dci_es.categorical=['shape', 'colour']"
    out = cli_runner.invoke(cli, ["evaluate", str(run), "--metrics", "dci_es", "--option", option])
    assert_one_line_error(out, "dci_es.categorical: shapes2d has no factor 'colour'")
    assert not list(run.glob("cells/*/evaluations/*"))
