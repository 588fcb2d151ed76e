"""Models kept along training (``snapshots``): the same bits as a model trained that far, evaluated
as final models are, and shown against the step."""

import pandas as pd
import pytest
import torch
from run_helpers import assert_one_line_error, values, write_grid

from benchbench.cli import cli
from benchbench.storage.store import RunStore


def spec(steps: int, snapshots: list[int] | None = None) -> dict:
    train = {"latent_dim": 4, "steps": steps, "batch_size": 8, "lr": 1e-3}
    return {
        "name": "snap",
        "seeds": 2,
        "train": {**train, **({"snapshots": snapshots} if snapshots else {})},
        "metrics": {"reconstruction_error": {"num_images": 32}},
        "sweep": [{"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": 4}}],
    }


def run(cli_runner, tmp_path, name: str, grid: dict) -> RunStore:
    path = write_grid(tmp_path / f"{name}.toml", grid)
    args = ["run", "--grid", str(path), "--name", name, "--results", str(tmp_path), "--no-progress"]
    out = cli_runner.invoke(cli, [*args, "--device", "cpu", "--pack-size", "16"])
    assert out.exit_code == 0, out.output
    return RunStore(tmp_path / name)


def by_seed(run: RunStore) -> dict:
    return {s.cell().seed: s for s in run.cell_stores()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run keeping its models at steps 2 and 4 of 6, and runs of 4 and 6 steps that keep none."""
    from click.testing import CliRunner

    root, runner = tmp_path_factory.mktemp("snapshots"), CliRunner()
    kept = run(runner, root, "kept", spec(6, [2, 4]))
    return kept, run(runner, root, "four", spec(4)), run(runner, root, "six", spec(6))


def test_a_snapshot_is_the_model_trained_that_far_and_the_final_model_is_unchanged(runs):
    kept, four, six = (by_seed(r) for r in runs)
    for seed, store in kept.items():
        assert [s.step for s in store.snapshots()] == [2, 4]
        at4 = store.snapshot(4).load_model()
        assert all(torch.equal(at4[k], v) for k, v in four[seed].load_model().items())  # bit for bit
        final = store.load_model()
        assert all(torch.equal(final[k], v) for k, v in six[seed].load_model().items())
        assert not torch.equal(store.snapshot(2).load_model()["encoder.0.weight"], at4["encoder.0.weight"])
        assert store.cell().label.endswith("/snapshots=2,4") and store.cell().id != six[seed].cell().id


def test_snapshots_are_evaluated_with_the_same_records_keyed_by_cell_and_step(runs, cli_runner):
    kept, four, _ = runs
    for seed, store in by_seed(kept).items():
        (record,) = store.snapshot(4).evaluations()
        assert record.cell == store.cell().id and record.step == 4 and record.status == "done"
        assert record.values == values(by_seed(four)[seed])["reconstruction_error"]  # same model, same stream
    options = ["--option", "latent_correlation.num_images=64", "--no-progress"]
    out = cli_runner.invoke(cli, ["evaluate", str(kept.path), "--metrics", "latent_correlation", *options])
    assert out.exit_code == 0, out.output
    assert all(
        {r.metric for r in model.evaluations()} == {"reconstruction_error", "latent_correlation"}
        for store in kept.cell_stores()
        for model in store.models()
    )  # evaluate adds to the snapshots too
    out = cli_runner.invoke(cli, ["status", str(kept.path)])
    assert "2 trained" in out.output and "(and 4 snapshots); evaluations 12 done, 0 failed, 0 missing" in out.output


def test_report_shows_each_metric_along_training(runs, cli_runner):
    kept = runs[0]
    out = cli_runner.invoke(cli, ["report", str(kept.path), "--format", "csv,html"])
    assert out.exit_code == 0, out.output
    along = pd.read_csv(kept.path / "report" / "along_training_shapes2d.csv")
    assert sorted(along["step"]) == [2, 2, 4, 4, 6, 6] and set(along["seed"]) == {0, 1}
    for store in kept.cell_stores():
        for model in store.models():
            row = along[(along["cell"] == store.cell().id) & (along["step"] == (model.step or 6))]
            mse = next(r for r in model.evaluations() if r.metric == "reconstruction_error").values["mse"]
            assert row["reconstruction_error.mse"].item() == mse
    page = (kept.path / "report" / "index.html").read_text()
    assert "Metrics along training — 2D Shapes" in page and "figures/along_training_shapes2d.png" in page


@pytest.mark.parametrize(
    ("snapshots", "words"),
    [([6], "snapshots must come before the last step (6"), ([4, 2], "must be increasing positive steps")],
)
def test_snapshots_a_grid_cannot_keep_are_one_line(tmp_path, cli_runner, snapshots, words):
    path = write_grid(tmp_path / "bad.toml", spec(6, snapshots))
    out = cli_runner.invoke(cli, ["run", "--grid", str(path), "--results", str(tmp_path)])
    assert_one_line_error(out, "snapshots", words)
    assert not (tmp_path / "snap").exists()


def test_steps_cut_on_the_command_line_keep_the_snapshots_before_them(tmp_path):
    from benchbench.planning.grids import load_toml

    grid = load_toml(write_grid(tmp_path / "g.toml", spec(6, [2, 4])))
    assert {c.snapshots for c in grid.cells(steps=3)} == {(2,)}
    assert {c.snapshots for c in grid.cells()} == {(2, 4)}


def test_a_damaged_snapshot_is_said_and_run_restores_it_with_the_same_bits(runs, tmp_path, cli_runner):
    import shutil

    kept = runs[0]
    copy = RunStore(shutil.copytree(kept.path, tmp_path / "kept"))
    store = by_seed(copy)[0]
    assert "snapshots/2/model.pt" in store.status().files  # recorded when the cell was trained
    before = store.snapshot(2).load_model()
    store.snapshot(2).model_path.write_bytes(b"garbage")
    out = cli_runner.invoke(cli, ["status", str(copy.path)])
    assert "warning:" in out.output and "snapshots/2/model.pt has 7 bytes" in out.output, out.output
    grid = write_grid(tmp_path / "kept.toml", spec(6, [2, 4]))
    rerun = ["run", "--grid", str(grid), "--name", "kept", "--results", str(tmp_path), "--no-progress"]
    out = cli_runner.invoke(cli, [*rerun, "--device", "cpu", "--pack-size", "16"])
    assert out.exit_code == 0, out.output
    after = store.snapshot(2).load_model()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [r.metric for r in store.snapshot(2).evaluations()] == ["reconstruction_error"]
