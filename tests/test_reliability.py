"""Same command, same bits, whatever happens: kill -9 anywhere, rerun, compare with a run that
was never interrupted."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from benchbench.store import RunStore

KILLER = Path(__file__).parent / "killer.py"
GRID = """
name = "faults"
seeds = 2
[train]
latent_dim = 4
steps = 40
batch_size = 16
lr = 1e-3
[metrics.reconstruction_error]
num_images = 64
[metrics.mig]
num_train = 300
[[sweep]]
datasets = ["shapes2d"]
method = "beta_vae"
hyperparameters = { beta = 4 }
[[sweep]]
datasets = ["shapes2d"]
method = "dip_vae"
hyperparameters = { lambda_od = 10 }
"""


def command(tmp_path: Path, results: str) -> list[str]:
    grid = tmp_path / "faults.toml"
    grid.write_text(GRID)
    return [sys.executable, str(KILLER), "run", "--grid", str(grid), "--device", "cpu", "--no-progress",
            "--results", str(tmp_path / results), "--checkpoint-every", "7", "--log-every", "3"]  # fmt: skip


def launch(args, kill_after=None, kill_at=None) -> int:
    env = {**os.environ, "KILL_AFTER": kill_after or ""}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_at is not None:
        try:
            proc.wait(timeout=kill_at)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=300)
    return proc.returncode


def snapshot(run_dir: Path) -> dict:
    """Every cell's weights, curve and evaluation values."""
    run, out = RunStore(run_dir), {}
    for store in run.cell_stores():
        assert store.status()["status"] == "trained", (store.path, store.status())
        values = {(r["metric"], r["key"]): (r["status"], r.get("values")) for r in store.evaluations()}
        out[store.path.name] = (store.load_model(), store.log_path.read_bytes(), values)
    assert not [p for p in run.pack_stores() if p.checkpoint_path.exists()]
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) == 4
    for cell, (weights, log, values) in a.items():
        other_weights, other_log, other_values = b[cell]
        assert all(torch.equal(weights[k], other_weights[k]) for k in weights), cell
        assert log == other_log, cell
        assert values == other_values and len(values) == 2, cell


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, shapes):
    """The reference run, and its wall time (the dataset cache is built before, by ``shapes``)."""
    tmp = tmp_path_factory.mktemp("faults")
    t0 = time.perf_counter()
    assert launch(command(tmp, "straight")) == 0
    return snapshot(tmp / "straight" / "faults"), time.perf_counter() - t0


@pytest.mark.parametrize(
    "kill_after",
    [
        "CellStore.save_model:1",  # a model saved, its status not yet
        "PackStore.save_checkpoint:6",  # the final checkpoint written, no model yet
        "PackStore.save_checkpoint:2",  # right after a checkpoint, before the next log row
        "CellStore.append_log:13",  # right after a log row, before its step's checkpoint
        "CellStore.write_evaluation:3",  # between two evaluations
    ],
)
def test_kill_at_a_boundary_then_rerun_gives_the_same_bits(tmp_path, uninterrupted, kill_after):
    args = command(tmp_path, "killed")
    assert launch(args, kill_after=kill_after) == -signal.SIGKILL
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "killed").rglob("model.pt")}
    assert launch(args) == 0
    assert_same(snapshot(tmp_path / "killed" / "faults"), uninterrupted[0])
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # a saved model is never trained or written again


def test_kill_at_ten_random_moments_then_rerun_gives_the_same_bits(tmp_path, uninterrupted):
    """Ten runs, each killed -9 at a random moment (mid-write included), then run again to the end."""
    rng, seconds, landed = np.random.default_rng(0), uninterrupted[1], 0
    for i in range(10):
        args = command(tmp_path, f"killed{i}")
        landed += launch(args, kill_at=float(rng.uniform(0.35, 0.95) * seconds)) == -signal.SIGKILL
        assert launch(args) == 0
        run = RunStore(tmp_path / f"killed{i}" / "faults")
        assert_same(snapshot(run.path), uninterrupted[0])
        packs = {s.status()["pack"] for s in run.cell_stores()}
        assert len(packs) == 2 and all(len(run.pack_store(p).cells()) == 2 for p in packs)
    assert landed >= 7  # most kills came before the run could finish
