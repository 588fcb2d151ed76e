"""Progress a log can show: plain lines through the ``benchbench`` :mod:`logging` logger.

A bar redraws itself on a terminal; in a log file, under ``nohup`` or in a cluster job it would be
silence, and a hung run would look like a working one.  So long work also says, in one line each,
when a pack starts and ends, each evaluation it computes, and — at most every
:data:`HEARTBEAT_SECONDS` — where a training is (step, steps/s, ETA).  The command line shows
these lines on stderr where it shows no bars (:func:`lines_to_stderr`); a command that writes a run
also appends them to the run's ``progress.log`` (:func:`lines_to_file`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

log = logging.getLogger("benchbench")
log.setLevel(logging.INFO)

#: The most often a training says where it is.
HEARTBEAT_SECONDS = 60.0

_FORMAT = logging.Formatter("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")


@contextlib.contextmanager
def _handler(handler: logging.Handler) -> Iterator[logging.Handler]:
    handler.setFormatter(_FORMAT)
    log.addHandler(handler)
    try:
        yield handler
    finally:
        log.removeHandler(handler)
        handler.close()


def lines_to_stderr() -> contextlib.AbstractContextManager:
    """Show the progress lines on stderr while the context lasts (the stream of now: a test's too)."""
    return _handler(logging.StreamHandler(sys.stderr))


@contextlib.contextmanager
def lines_to_file(path: Path, what: str) -> Iterator[None]:
    """Append the progress lines to ``path`` while the context lasts, and how ``what`` ended
    (finished, or stopped by what) — the file is made only when there is progress to say, so a
    command with none (``migrate``, a refused one) leaves no log."""
    with _handler(logging.FileHandler(path, encoding="utf-8", delay=True)) as handler:
        try:
            yield
        except BaseException as exc:
            _only_to(handler, f"{what}: stopped ({type(exc).__name__})")
            raise
        _only_to(handler, f"{what}: finished")


def _only_to(handler: logging.FileHandler, line: str) -> None:
    if handler.stream is not None:  # something was said: close the story in the file alone
        handler.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, None, None))


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 4 min``: a wait in words a person reads at a glance."""
    if seconds < 9.95:
        return f"{max(seconds, 0):.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class Heartbeat:
    """Called with the steps done since the last call; says ``what``'s step, steps/s and ETA,
    at most every :data:`HEARTBEAT_SECONDS` (read when it is made); with another ``unit`` (a
    download's ``MB``, counted in bytes: ``scale`` 1e6), how much of it is done, and how fast."""

    def __init__(
        self,
        what: str,
        total: int,
        done: int = 0,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "step",
        scale: float = 1.0,
    ):
        self.what, self.total, self.done, self.clock = what, total, done, clock
        self.unit, self.scale = unit, scale
        self.every = HEARTBEAT_SECONDS
        self.start = self.last = clock()
        self.first = done

    def __call__(self, steps: int = 1) -> None:
        self.done += steps
        now = self.clock()
        if now - self.last < self.every or self.done >= self.total:
            return
        self.last = now
        rate = (self.done - self.first) / max(now - self.start, 1e-9)
        eta = duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        if self.unit == "step":
            log.info(f"{self.what}: step {self.done:,} of {self.total:,}, {rate:.3g} steps/s, {eta} to go")
        else:
            done, total, rate = self.done / self.scale, self.total / self.scale, rate / self.scale
            log.info(f"{self.what}: {done:,.1f} of {total:,.1f} {self.unit}, {rate:.3g} {self.unit}/s, {eta} to go")
