"""A small grid of two packs of two cells, run in a process of its own that the tests kill (and resumed
in this process, where nothing is killed), and the snapshot that says whether two runs gave the
same bits."""

import multiprocessing
import signal
import sys
import time
from pathlib import Path

import torch
from click.testing import CliRunner
from run_helpers import grid_toml

from benchbench.cli import cli
from benchbench.storage.store import RunStore

KILLER = Path(__file__).parent / "killer.py"
#: The runs the tests kill are forked from a server that imported benchbench (and torch) once:
#: each is a process of its own, killed -9 for real, without paying ~4 s of imports.
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(["killer"])
#: Two packs of two cells (two seeds of β-VAE, two of DIP-VAE), two metrics, every model also
#: kept at steps 10 and 30 (10 lies between two checkpoints).
SPEC = {
    "name": "faults",
    "seeds": 2,
    "train": {"latent_dim": 4, "steps": 40, "batch_size": 8, "lr": 1e-3, "snapshots": [10, 30]},
    "metrics": {"reconstruction_error": {"num_images": 64}, "mig": {"num_train": 300}},
    "sweep": [
        {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": 4}},
        {"datasets": ["shapes2d"], "method": "dip_vae", "hyperparameters": {"lambda_od": 10}},
    ],
}
GRID = grid_toml(SPEC)


def command(tmp_path: Path, results: str, *extra: str, grid_text: str = GRID) -> list[str]:
    """The CLI run of ``grid_text`` (the faults grid by default) into ``tmp_path/results``."""
    grid = tmp_path / "faults.toml"
    grid.write_text(grid_text)
    return [
        sys.executable,
        str(KILLER),
        "run",
        "--grid",
        str(grid),
        "--device",
        "cpu",
        "--no-progress",
        "--results",
        str(tmp_path / results),
        "--checkpoint-every",
        "7",
        "--log-every",
        "3",
        "--pack-size",
        "16",
        *extra,
    ]  # packs of several cells, the case to survive; fmt: skip


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell running us in the background may ignore it


def progress(run_dir: Path) -> int:
    """How far a run has got: curve lines plus evaluation records written so far."""
    lines = sum(p.read_bytes().count(b"\n") for p in run_dir.glob("cells/*/train_log.csv"))
    return lines + len(list(run_dir.glob("cells/*/evaluations/*/*/evaluation.json")))


#: CPU threads of every run of the faults grid, killed or not: a pack of several models rounds
#: differently with another number of them.
THREADS = 2


def thread_env() -> dict[str, str]:
    """The environment that gives a subprocess :data:`THREADS` threads in torch and MKL alike."""
    return {"OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}


def launch(args, kill_after=None, kill_at_progress=None) -> int:
    """Run the CLI in a process of its own (on :data:`THREADS` threads) and return its exit code;
    with ``kill_after``, it SIGKILLs itself after that store call (see ``killer.py``); with
    ``kill_at_progress=(run_dir, n, delay)``, it is SIGKILLed ``delay`` seconds after its
    progress reaches ``n`` (whatever the machine's speed)."""
    import killer

    proc = FORKS.Process(target=killer.forked, args=(args[2:], kill_after or "", THREADS))
    proc.start()
    if kill_at_progress is not None:
        run_dir, target, delay = kill_at_progress
        while proc.is_alive() and progress(run_dir) < target:
            time.sleep(0.005)
        time.sleep(delay)
        proc.kill()
    proc.join(timeout=300)
    return proc.exitcode


def finish(args, threads: int = THREADS) -> None:
    """Run ``args`` (a :func:`command`) to the end in this process, on ``threads`` CPU threads, as
    the CLI would: nothing here is killed, so it needs no process of its own."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = CliRunner().invoke(cli, args[2:])  # without the interpreter and killer.py
    finally:
        torch.set_num_threads(previous)
    assert out.exit_code == 0, out.output


def uninterrupted(tmp_path: Path, threads: int = THREADS) -> tuple[dict, Path]:
    """The faults grid run once, never interrupted: its snapshot and its folder."""
    finish(command(tmp_path, "straight"), threads)
    return snapshot(tmp_path / "straight" / "faults"), tmp_path / "straight" / "faults"


def snapshot(run_dir: Path) -> dict:
    """Every model's weights, curve and evaluation values: each cell's final model and snapshots."""
    run, out = RunStore(run_dir), {}
    for store in run.cell_stores():
        assert store.status().status == "trained", (store.path, store.status())
        for model in store.models():  # the final model, then the snapshots
            values = {(r.metric, r.key): (r.status, r.values) for r in model.evaluations()}
            out[store.path.name, model.step] = (model.load_model(), store.log_path.read_bytes(), values)
    assert not [p for p in run.pack_stores() if p.checkpoint_path.exists()]
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) == 4 * 3 and {step for _, step in a} == {None, 10, 30}
    for cell, (weights, log, values) in a.items():
        other_weights, other_log, other_values = b[cell]
        assert all(torch.equal(weights[k], other_weights[k]) for k in weights), cell
        assert log == other_log, cell
        assert values == other_values and len(values) == 2, cell
