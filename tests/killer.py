"""Run the benchbench CLI and SIGKILL it right after the Nth call of one store method.

    KILL_AFTER=CellStore.save_model:1 python tests/killer.py run --grid ...

A real kill -9 at an exact boundary (after a model file, after a checkpoint, after a log row),
with no hook in benchbench itself.  The tests run :func:`forked` in a process forked from a
server that imported this module (and so torch) once.
"""

import functools
import os
import signal
import sys

import torch

from benchbench.cli import cli
from benchbench.storage import store


def arm(spec: str) -> None:
    target, count = spec.split(":")
    owner, name = target.split(".")
    cls, calls = getattr(store, owner), []
    original = getattr(cls, name)

    @functools.wraps(original)
    def then_die(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == int(count):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(cls, name, then_die)


def forked(args: list[str], kill_after: str, threads: int) -> None:
    """The CLI on ``threads`` CPU threads, its output discarded, killed after ``kill_after``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    torch.set_num_threads(threads)
    if kill_after:
        arm(kill_after)
    cli(args, prog_name="benchbench")


if __name__ == "__main__":  # not in the worker processes a LocalCluster spawns from this script
    if os.environ.get("KILL_AFTER"):
        arm(os.environ["KILL_AFTER"])
    cli(sys.argv[1:], prog_name="benchbench")
