import re
import time

import numpy as np
import pandas as pd
import pytest
import torch
from faults import SPEC
from run_helpers import grid_toml, values

from benchbench.cli import cli
from benchbench.core.records import CellStatus
from benchbench.core.registry import BenchbenchError, metrics
from benchbench.core.runtime import derived_seed
from benchbench.evaluation.evaluate import load_trained
from benchbench.plugin.metric import EvalSpec
from benchbench.storage.store import RunStore
from benchbench.training.trainer import PackTrainer


def run_cli(cli_runner, *args, code=0):
    out = cli_runner.invoke(
        cli, ["run", "--device", "cpu", "--no-progress", "--pack-size", "16", *args], catch_exceptions=False
    )
    assert out.exit_code == code, out.output
    return out


def test_smoke_grid_end_to_end_and_rerun_skips(tmp_path, cli_runner):
    out = run_cli(cli_runner, "--grid", "smoke", "--results", str(tmp_path))
    run = RunStore(tmp_path / "smoke")
    manifest = run.manifest()
    assert manifest.grid["name"] == "smoke" and manifest.ended and manifest.started
    assert manifest.versions["torch"] == torch.__version__ and manifest.devices[0].startswith("cpu")
    assert len(manifest.cells) == 4
    stores = run.cell_stores()
    assert [s.status().status for s in stores] == ["trained"] * 4
    for store in stores:
        assert len(store.evaluations()) == 6
        metrics = values(store)["reconstruction_error"]
        assert 0 < metrics["mse"] < 1 and metrics["num_images"] == 64
        assert torch.load(store.model_path, weights_only=True)["encoder.0.weight"].shape == (32, 1, 4, 4)
        assert store.read_log()[-1]["step"] == 6
    summary = "models 4 trained, 0 running, 0 failed (0 diverged), 0 pending; evaluations 24 done, 0 failed, 0 missing"
    assert summary in out.output
    lines = out.output.splitlines()
    numbered = [line for line in lines if line.startswith("#")]  # each cell numbered, seed last, with its status
    assert numbered[0].split() == ["#1", "shapes2d/beta_vae(beta=2)/s0", "trained"] and len(numbered) == 4
    assert any(line.split()[:2] == ["#4", "shapes2d/vae/s0"] for line in numbered)
    assert lines[lines.index(numbered[-1]) + 1].split() == ["#1", "#2", "#3", "#4"]  # a column per cell
    assert any(line.startswith("reconstruction_error.mse") and len(line.split()) == 5 for line in lines)
    mtimes = [s.model_path.stat().st_mtime_ns for s in stores]
    run_cli(cli_runner, "--grid", "smoke", "--results", str(tmp_path))  # finished cells are skipped
    assert [s.model_path.stat().st_mtime_ns for s in stores] == mtimes
    status = cli_runner.invoke(cli, ["status", str(tmp_path / "smoke")])
    assert status.exit_code == 0 and summary in status.output


def test_same_config_same_metrics(tmp_path, cli_runner):
    for name in ("a", "b"):
        run_cli(cli_runner, "--grid", "smoke", "--methods", "dip_vae", "--results", str(tmp_path), "--name", name)
    a = values(RunStore(tmp_path / "a").cell_stores()[0])
    b = values(RunStore(tmp_path / "b").cell_stores()[0])
    assert a["reconstruction_error"]["mse"] == b["reconstruction_error"]["mse"]
    store, dataset, model = load_trained(tmp_path / "a", None, torch.device("cpu"))
    assert torch.equal(model.net.state_dict()["encoder.0.weight"], store.load_model()["encoder.0.weight"])
    rng = np.random.default_rng(derived_seed(store.cell().seed, "metric:reconstruction_error"))
    again = metrics.get("reconstruction_error")(dataset, model, rng, num_images=64)
    assert again["mse"] == a["reconstruction_error"]["mse"]  # the run's own number, outside the run
    assert RunStore(tmp_path / "a").trained_cell(store.path.name).path == store.path
    with pytest.raises(BenchbenchError, match="no trained model for cell nope"):
        load_trained(tmp_path / "a", "nope", torch.device("cpu"))


def test_crash_resume_and_retry_failed(tmp_path, cli_runner, interrupt_at):
    args = [
        "--grid",
        "smoke",
        "--methods",
        "beta_vae",
        "--steps",
        "10",
        "--checkpoint-every",
        "4",
        "--log-every",
        "2",
        "--results",
        str(tmp_path),
    ]
    interrupt_at(7)
    interrupted = cli_runner.invoke(cli, ["run", "--device", "cpu", "--no-progress", "--pack-size", "16", *args])
    run = RunStore(tmp_path / "smoke")
    (pack,) = run.pack_stores()  # the two β-VAEs train as one pack, checkpointed as one
    assert interrupted.exit_code == 130  # Ctrl-C mid-training: one line, and how to go on
    assert interrupted.output.splitlines()[-1] == (
        f"interrupted (SIGINT) at step 7 of pack {pack.id}; run the same command to resume from its checkpoint at "
        "step 4"
    )
    assert [s.status().status for s in run.cell_stores()] == ["running", "running"]
    status = cli_runner.invoke(cli, ["status", str(run.path), "--cells"])
    assert "models 0 trained, 0 running, 2 interrupted, 0 failed" in status.output
    assert status.output.count(f"interrupted pack {pack.id} (2 cells)") == 2  # its pack; no writer now
    assert run.manifest().pack_size == 16
    assert sorted(pack.cells()) == [s.path.name for s in run.cell_stores()]
    assert torch.load(pack.checkpoint_path, weights_only=True)["step"] == 4
    assert {s.status().pack for s in run.cell_stores()} == {pack.id}
    interrupt_at(None)
    run_cli(cli_runner, *args)
    assert [s.status().status for s in run.cell_stores()] == ["trained", "trained"]
    assert [r["step"] for r in run.cell_stores()[0].read_log()] == [2, 4, 6, 8, 10]

    # a failure is recorded with its error, kept on rerun, and retrained with --retry-failed
    store = run.cell_stores()[0]
    store.mark_failed(RuntimeError("out of memory"))
    out = run_cli(cli_runner, *args, code=1)
    assert "failed: shapes2d/beta_vae(beta=" in out.output and "out of memory" in out.output
    assert store.status().status == "failed"
    model_mtime = store.model_path.stat().st_mtime_ns
    run_cli(cli_runner, *args, "--retry-failed")
    assert store.status().status == "trained"
    assert store.model_path.stat().st_mtime_ns == model_mtime  # it failed after training: not retrained


def test_exception_in_a_pack_marks_its_cells_failed(tmp_path, cli_runner, monkeypatch):
    def boom(self):
        raise RuntimeError("CUDA error: device-side assert\ntriggered")

    monkeypatch.setattr(PackTrainer, "_adam", boom)
    out = run_cli(cli_runner, "--grid", "smoke", "--methods", "vae", "--results", str(tmp_path), code=1)
    store = RunStore(tmp_path / "smoke").cell_stores()[0]
    assert store.status() == CellStatus("failed", error="RuntimeError: CUDA error: device-side assert")
    assert "Traceback" in (store.path / "error.txt").read_text()
    assert "1 failed (0 diverged)" in out.output and "failed: shapes2d/vae/s0: RuntimeError" in out.output


def test_training_curve_csv_is_readable(tmp_path, cli_runner):
    run_cli(cli_runner, "--grid", "smoke", "--methods", "dip_vae", "--log-every", "3", "--results", str(tmp_path))
    store = RunStore(tmp_path / "smoke").cell_stores()[0]
    curve = pd.read_csv(store.log_path)
    assert list(curve.columns) == ["step", "loss", "reconstruction", "kl", "regularizer", "dip_offdiag", "dip_diag"]
    assert curve["step"].tolist() == [3, 6]
    np.testing.assert_allclose(curve["loss"], curve["reconstruction"] + curve["regularizer"], rtol=1e-5)


def test_status_of_missing_run_is_exit_2(tmp_path, cli_runner):
    out = cli_runner.invoke(cli, ["status", str(tmp_path / "nope")])
    assert out.exit_code == 2 and "no run at" in out.output


def test_cuda_request_without_cuda_is_exit_2(tmp_path, cli_runner):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    out = cli_runner.invoke(cli, ["run", "--grid", "smoke", "--device", "cuda", "--results", str(tmp_path)])
    assert out.exit_code == 2 and "CUDA is not available" in out.output
    assert not any(tmp_path.iterdir())


def test_bench_reports_each_pack_size(cli_runner):
    out = cli_runner.invoke(
        cli, ["bench", "--pack-sizes", "1,2", "--steps", "2", "--warmup", "1", "--batch-size", "4", "--device", "cpu"]
    )
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert "model_steps_per_s" in lines[0] and "vs_naive_loop" in lines[0] and len(lines) == 4
    said = [line.split(" ", 2)[2] for line in out.stderr.splitlines()]  # no terminal: a line per measurement
    assert [s.split(":")[0] for s in said] == ["bench"] * 3
    assert re.match(r"bench: \d+ threads, pack of 1, fp32, eager: ", said[0]) and "the naive per-cell" in said[-1]
    rows = [dict(zip(lines[0].split(), line.split())) for line in lines[1:]]
    shown = [[r["trainer"], r["step"], r["precision"], r["pack_size"]] for r in rows]
    assert shown == [["naive", "eager", "fp32", "1"], ["pack", "eager", "fp32", "1"], ["pack", "eager", "fp32", "2"]]
    assert rows[0]["vs_naive_loop"] == "1.000"  # the naive loop is the baseline of its own ratio
    naive = float(rows[0]["model_steps_per_s"])
    for r in rows[1:]:  # each ratio is this row's throughput over the naive loop's
        assert float(r["vs_naive_loop"]) == pytest.approx(float(r["model_steps_per_s"]) / naive, rel=0.01, abs=0.002)
    both = cli_runner.invoke(cli, ["bench", "--pack-sizes", "1", "--steps", "2", "--warmup", "1", "--batch-size", "4",
                                   "--device", "cpu", "--precision", "both"])  # fmt: skip
    lines = both.stdout.strip().splitlines()
    rows = [dict(zip(lines[0].split(), line.split())) for line in lines[1:]]
    assert [(r["trainer"], r["precision"]) for r in rows] == [("naive", "fp32"), ("pack", "fp32"), ("pack", "bf16")]
    fp32 = float(rows[1]["model_steps_per_s"])  # one at a time means the fp32 pack of 1
    assert float(rows[2]["vs_one_at_a_time"]) == pytest.approx(
        float(rows[2]["model_steps_per_s"]) / fp32, rel=0.01, abs=0.002
    )
    bad = cli_runner.invoke(cli, ["bench", "--pack-sizes", "1,x"])
    assert bad.exit_code == 2 and "--pack-sizes" in bad.output


def test_retry_resumes_a_failed_training_from_its_checkpoint(tmp_path, cli_runner, interrupt_at, monkeypatch):
    args = ["--grid", "smoke", "--methods", "vae", "--steps", "10", "--checkpoint-every", "4", "--log-every", "2",
            "--results", str(tmp_path)]  # fmt: skip
    interrupt_at(7, RuntimeError("CUDA out of memory"))
    out = run_cli(cli_runner, *args, code=1)
    assert "1 of this run's models and evaluations failed or diverged" in out.output
    store = RunStore(tmp_path / "smoke").cell_stores()[0]
    assert store.status().status == "failed" and "out of memory" in store.status().error
    (pack,) = RunStore(tmp_path / "smoke").pack_stores()
    assert torch.load(pack.checkpoint_path, weights_only=True)["step"] == 4
    interrupt_at(None)
    starts, advance = [], PackTrainer.advance
    monkeypatch.setattr(PackTrainer, "advance", lambda self, *a: starts.append(self.step) or advance(self, *a))
    assert "out of memory" in (store.path / "error.txt").read_text()
    run_cli(cli_runner, *args, "--retry-failed")
    assert store.status().status == "trained" and starts == [4]  # steps 1–4 were not trained again
    assert not (store.path / "error.txt").exists()  # the failure's traceback went with the failure
    assert [r["step"] for r in store.read_log()] == [2, 4, 6, 8, 10]


def test_the_cpu_trains_one_cell_at_a_time_unless_told(tmp_path, cli_runner):
    """bench measures packs slower than one model at a time on the CPU, so that is the default there."""
    args = ["run", "--grid", "smoke", "--methods", "beta_vae", "--device", "cpu", "--no-progress", "--steps", "2"]
    assert cli_runner.invoke(cli, [*args, "--results", str(tmp_path / "auto")]).exit_code == 0
    run = RunStore(tmp_path / "auto" / "smoke")
    assert run.manifest().pack_size == 1
    assert sorted(len(p.cells()) for p in run.pack_stores()) == [1, 1]
    assert cli_runner.invoke(cli, [*args, "--pack-size", "4", "--results", str(tmp_path / "told")]).exit_code == 0
    told = RunStore(tmp_path / "told" / "smoke")
    assert told.manifest().pack_size == 4 and [len(p.cells()) for p in told.pack_stores()] == [2]


SLOW_METRIC = '''
import threading
import time

from benchbench.core.registry import metrics

CALLS = []  # (thread name, start, end) of each call


@metrics.register("slow_metric")
def slow_metric(dataset, model, rng, *, seconds: float = 1.5):
    """Stands for CPU-bound metric work (SVMs, trees): it only waits."""
    start = time.monotonic()
    time.sleep(seconds)
    CALLS.append((threading.current_thread().name, start, time.monotonic()))
    return {"value": 1.0}
'''

# the faults grid with one seed (two packs: one method each), no snapshots and only the slow metric
OVERLAP_GRID = grid_toml(
    {**SPEC, "seeds": 1, "train": {**SPEC["train"], "snapshots": []}, "metrics": {"slow_metric": {"seconds": 1.0}}}
)


@pytest.fixture(scope="module")
def slow_metric(tmp_path_factory):
    """The plugin file and the list its metric appends its calls to."""
    import sys

    from benchbench.core.registry import load_plugins

    path = tmp_path_factory.mktemp("plugin") / "slow.py"
    path.write_text(SLOW_METRIC)
    load_plugins([str(path)])
    return str(path), next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(path)).CALLS


@pytest.mark.slow
@pytest.mark.parametrize("overlap", [True, False])
def test_evaluations_run_beside_the_next_pack_s_training_when_asked(tmp_path, monkeypatch, slow_metric, overlap):
    from benchbench.planning.grids import get_grid
    from benchbench.training.runner import LocalExecutor, run_grid
    from benchbench.training.trainer import TrainSettings

    plugin, calls = slow_metric
    calls.clear()
    (tmp_path / "grid.toml").write_text(OVERLAP_GRID)
    trainings, train = [], PackTrainer.train

    def timed(self):
        start = time.monotonic()
        out = train(self)
        trainings.append((start, time.monotonic()))
        return out

    monkeypatch.setattr(PackTrainer, "train", timed)
    grid = get_grid(str(tmp_path / "grid.toml"))
    executor = LocalExecutor("cpu", overlap=overlap)
    settings = TrainSettings(progress=False)
    run = run_grid(grid, grid.cells(), tmp_path / "run", executor, settings=settings, plugins=[plugin])
    assert len(trainings) == 2 and len(calls) == 2
    assert all(values(s)["slow_metric"] == {"value": 1.0} for s in run.cell_stores())
    # the first pack's slow metric against the second pack's training
    (thread, start, end), (train_start, train_end) = calls[0], trainings[1]
    if overlap:
        assert thread.startswith("evaluate") and start < train_end and end > train_start
    else:
        assert thread == "MainThread" and end <= train_start


def test_threads_are_set_and_recorded_by_run_and_evaluate_and_bench_shows_each_count(tmp_path, cli_runner):
    before = torch.get_num_threads()
    args = ["run", "--grid", "smoke", "--methods", "vae", "--device", "cpu", "--no-progress", "--threads", "1"]
    out = cli_runner.invoke(cli, [*args, "--results", str(tmp_path)])
    assert out.exit_code == 0, out.output
    run = RunStore(tmp_path / "smoke")
    (store,) = run.cell_stores()
    assert run.manifest().threads == 1 and store.status().extra["threads"] == 1
    assert {r.threads for r in store.evaluations()} == {1}
    torch.set_num_threads(before)
    out = cli_runner.invoke(cli, ["evaluate", str(run.path), "--metrics", "mig", "--option", "mig.num_train=100",
                                  "--threads", "1", "--no-progress"])  # fmt: skip
    assert out.exit_code == 0 and store.evaluation("mig", EvalSpec.of("mig", {"num_train": 100}).key).threads == 1
    torch.set_num_threads(2)
    out = cli_runner.invoke(cli, ["bench", "--pack-sizes", "1", "--steps", "1", "--warmup", "0", "--batch-size", "4",
                                  "--device", "cpu", "--threads", "1,2"])  # fmt: skip
    assert out.exit_code == 0, out.output
    table = [line.split() for line in out.stdout.strip().splitlines()]
    assert [(row[0], row[1]) for row in table[1:]] == [("1", "naive"), ("1", "pack"), ("2", "naive"), ("2", "pack")]
    assert torch.get_num_threads() == 2  # put back
    bad = cli_runner.invoke(cli, ["bench", "--threads", "0"])
    assert bad.exit_code == 2 and "--threads must be comma-separated positive integers, got '0'" in bad.output
    torch.set_num_threads(before)
