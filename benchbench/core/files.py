"""File primitives of the results store: atomic writes, claims, tolerant reads and the one-line
diagnosis of a damaged file.

A write goes to a temp file in the same folder and is renamed into place, so a crash at any
moment leaves either the old file or the new one, never half of one.  Whoever writes into a
cell's or a pack's folder first holds its claim (``.claim.lock``, an OS file lock, see
:func:`claimed`), so a job that a cluster runs twice never writes one folder from two places.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # as an ordinary file would be, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_torch_save(path: Path, obj: Any) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


CLAIM = ".claim.lock"


def remove_leftovers(folder: Path) -> None:
    """Delete the temp files a killed writer left in ``folder`` (call only while holding it)."""
    for leftover in folder.rglob(".*.tmp"):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def claimed(folders: list[Path], on_wait=lambda folder: None) -> Iterator[None]:
    """Hold the claims of ``folders`` (cells, packs), waiting for any another job holds.

    Claims are taken in sorted order, so two jobs never wait for each other; they are OS file
    locks, so a killed holder's are released at once.  Leftover temp files in a folder are
    removed once it is held: no other writer can be using them."""
    with contextlib.ExitStack() as stack:
        for folder in sorted(set(map(Path, folders))):
            folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(folder / CLAIM)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                on_wait(folder)
                lock.acquire()
            stack.callback(lock.release)
            remove_leftovers(folder)
        yield


def file_facts(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a finished file, recorded where it is written so that damage done to it
    later is found: a changed size at a glance, other bytes of the same size by :func:`file_problem`
    with ``verify``."""
    with open(path, "rb") as fh:
        return stream_facts(fh)


def stream_facts(stream) -> dict[str, Any]:
    """:func:`file_facts` of what a binary stream holds (a file, a tar member), read a block at a time."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(1 << 20):
        digest.update(block)
        size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


def file_problem(path: Path, recorded: dict[str, Any], verify: bool = False) -> str | None:
    """What is wrong with a finished file against its record (``None``: nothing found)."""
    if not path.is_file():
        return "is not a file" if path.exists() else "is missing"
    size = path.stat().st_size
    if size != recorded.get("size"):
        return f"has {size} bytes, not the {recorded.get('size')} it was written with"
    if verify and file_facts(path)["sha256"] != recorded.get("sha256"):
        return "has other bytes than were written (checksum)"
    return None


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        return default


#: What :func:`read_checked` returns for a file that is there but cannot be read as JSON.
DAMAGED = object()
_said: set[str] = set()


def diagnose(message: str) -> None:
    """Say, once per process, in one line on stderr, that a file of a run is damaged and what
    benchbench does about it.  A damaged file never stops the rest of the run.  Paths under the
    working folder are said relative to it, as the user gave them (a job may hold them absolute)."""
    message = message.replace(f"{os.getcwd()}{os.sep}", "")
    if message not in _said:
        _said.add(message)
        print(f"warning: {message}", file=sys.stderr)


def diagnoses() -> int:
    """How many damaged files have been said since :func:`forget_diagnoses`."""
    return len(_said)


def forget_diagnoses() -> None:
    """Say every diagnosis again (each CLI command reports what it finds)."""
    _said.clear()


def read_checked(path: Path) -> Any:
    """JSON at ``path``: ``None`` if there is no file, :data:`DAMAGED` if it cannot be read."""
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        return DAMAGED
