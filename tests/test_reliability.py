"""Same command, same bits, whatever happens: kill -9 anywhere, rerun, compare with a run that
was never interrupted."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from faults import assert_same, command, default_sigint, finish, launch, progress, snapshot, thread_env, uninterrupted

from benchbench.core.records import LAYOUT, Manifest
from benchbench.storage.store import RunStore


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shapes):
    """The faults grid run once, never interrupted: what every killed run must end as."""
    return uninterrupted(tmp_path_factory.mktemp("reference"))


@pytest.mark.faults
@pytest.mark.parametrize(
    "kill_after",
    [
        "CellStore.save_model:1",  # a snapshot kept (step 10), the next checkpoint not yet written
        "CellStore.save_model:5",  # a model saved, its status not yet (after its pack's four snapshots)
        "PackStore.save_checkpoint:6",  # the final checkpoint written, no model yet
        "PackStore.save_checkpoint:2",  # right after a checkpoint, before the next log row
        "CellStore.append_log:13",  # right after a log row, before its step's checkpoint
        "CellStore.write_evaluation:3",  # between two evaluations
    ],
)
def test_kill_at_a_boundary_then_rerun_gives_the_same_bits(tmp_path, reference, kill_after):
    args = command(tmp_path, "killed")
    assert launch(args, kill_after=kill_after) == -signal.SIGKILL
    saved = {p: p.stat().st_mtime_ns for p in (tmp_path / "killed").rglob("model.pt")}
    finish(args)
    assert_same(snapshot(tmp_path / "killed" / "faults"), reference[0])
    assert {p: p.stat().st_mtime_ns for p in saved} == saved  # a saved model is never trained or written again


@pytest.mark.faults
def test_one_run_killed_at_ten_random_moments_resuming_in_between_gives_the_same_bits(tmp_path, reference):
    """One run killed -9 at ten random moments (mid-write included), in order: each kill lands in
    a run resumed after the one before, so a resumed run is killed again; then run to the end."""
    rng, landed = np.random.default_rng(0), 0
    run_dir = tmp_path / "killed" / "faults"
    args = command(tmp_path, "killed")
    total = progress(reference[1])
    for target in sorted(rng.choice(np.arange(1, total), size=10, replace=False)):
        landed += launch(args, kill_at_progress=(run_dir, int(target), float(rng.uniform(0, 0.05)))) == -signal.SIGKILL
    finish(args)
    run = RunStore(run_dir)
    assert_same(snapshot(run.path), reference[0])
    packs = {s.status().pack for s in run.cell_stores()}
    assert len(packs) == 2 and all(len(run.pack_store(p).cells()) == 2 for p in packs)
    assert landed >= 8  # the kills came before the run could finish


@pytest.mark.faults
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_with_one_line_and_the_rerun_gives_the_same_bits(tmp_path, reference, signum, code):
    args = command(tmp_path, "signalled")
    proc = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
        env={**os.environ, **thread_env()},
    )
    run_dir = tmp_path / "signalled" / "faults"
    while proc.poll() is None and progress(run_dir) < 10:  # mid-training, however fast the machine
        time.sleep(0.005)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1].startswith(f"interrupted ({name})")
    said = err.strip().splitlines()[-1]
    assert ("; run the same command to resume from its checkpoint at step " in said or said.endswith(
        "; run the same command to train it again: before its first checkpoint, it restarts from step 0"
    )) and "Traceback" not in err  # fmt: skip
    run = RunStore(tmp_path / "signalled" / "faults")
    statuses = [s.status().status for s in run.cell_stores()]
    assert "failed" not in statuses and statuses.count("trained") < 4
    finish(args)
    assert_same(snapshot(run.path), reference[0])


@pytest.mark.faults
def test_a_closed_output_pipe_never_fails_a_cell(tmp_path, reference):
    """As under `| tee` when tee is stopped: every write to the output fails."""
    args = [a for a in command(tmp_path, "piped") if a != "--no-progress"]
    env = {**os.environ, **thread_env()}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.wait(timeout=300) == 1
    run = RunStore(tmp_path / "piped" / "faults")
    assert not [s for s in run.cell_stores() if s.status().status in ("failed", "diverged")]
    finish(args)
    assert_same(snapshot(run.path), reference[0])


def test_one_writer_at_a_time_and_a_dead_writers_lock_does_not_block(tmp_path, cli_runner):
    from benchbench.cli import cli

    run = RunStore(tmp_path / "smoke")
    smoke = ["run", "--grid", "smoke", "--methods", "vae", "--device", "cpu", "--no-progress", "--results",
             str(tmp_path)]  # fmt: skip
    with run.writing("benchbench run --grid smoke"):
        for args in (smoke, ["evaluate", str(run.path), "--metrics", "mig"], ["migrate", str(run.path)]):
            if args[0] != "run":
                run.write_manifest(Manifest(layout=LAYOUT))
            out = cli_runner.invoke(cli, args)
            assert out.exit_code == 2, out.output
            line = out.output.strip()
            assert line.startswith(f"Error: {run.path} is being written by another benchbench (command benchbench run")
            assert f"pid {os.getpid()}" in line and "wait for it to finish or stop it" in line
    # a writer killed while holding the lock: the OS releases it
    hold_then_die = (
        "import sys, os, signal; from benchbench.storage.store import RunStore; "
        "held = RunStore(sys.argv[1]).writing('x'); held.__enter__(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold_then_die, str(run.path)])
    assert holder.wait(timeout=60) == -signal.SIGKILL and run.holder_path.exists()
    leftover = run.path / "cells" / ".status.json.abc.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_text("half a file")
    out = cli_runner.invoke(cli, smoke)
    assert out.exit_code == 0, out.output
    assert not leftover.exists() and not run.holder_path.exists()
    mode = (run.path / "manifest.json").stat().st_mode & 0o777
    assert mode == 0o666 & ~_umask()  # files follow the umask, not mkstemp's 0600


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
