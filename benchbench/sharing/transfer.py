"""Files read from any fsspec URL (a local path, ``file://``, ``http(s)://``; ``s3://``, ``gs://``
and ``hf://`` where their fsspec packages are installed) into a local folder.

A file is downloaded to ``<name>.part`` and renamed once its size and SHA-256 are the ones
listed, so a download stopped half-way resumes from its last byte (a range request) the next
time, and a file that is not what was listed is never taken for it.
"""

from __future__ import annotations

from pathlib import Path

import fsspec

from benchbench.core.files import file_facts
from benchbench.core.registry import BenchbenchError, one_line

#: Bytes read per request: each is a range request over HTTP.
CHUNK = 4 << 20


class Refused(BenchbenchError):
    """A bundle or file that is not what it says it is: nothing of it is kept."""


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The file system and path of ``url``; a one-line error for a protocol nothing here reads."""
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        protocol = url.split("://")[0]
        raise BenchbenchError(f"{url}: reading {protocol}:// needs its fsspec package ({one_line(exc)})") from None
    except ValueError as exc:
        raise BenchbenchError(f"{url}: {one_line(exc)}") from None


def is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


class Remote:
    """A folder (or one file) at a URL, read relative to it."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = filesystem(self.url)

    def path(self, name: str = "") -> str:
        return f"{self.root.rstrip('/')}/{name}" if name else self.root

    def where(self, name: str = "") -> str:
        return f"{self.url}/{name}" if name else self.url

    def exists(self, name: str = "") -> bool:
        try:
            return self.fs.exists(self.path(name))
        except Exception as exc:
            raise BenchbenchError(f"{self.where(name)} cannot be reached: {one_line(exc)}") from None

    def read_bytes(self, name: str = "") -> bytes:
        """A small file whole (a listing, an index)."""
        try:
            return self.fs.cat_file(self.path(name))
        except FileNotFoundError:
            raise Refused(f"{self.where(name)} not found") from None
        except Exception as exc:
            raise BenchbenchError(f"{self.where(name)} cannot be read: {one_line(exc)}") from None

    def size(self, name: str = "") -> int | None:
        try:
            return self.fs.size(self.path(name))
        except Exception:
            return None

    def fetch(
        self, name: str, dest: Path, size: int | None = None, sha256: str | None = None, beat=lambda n: None
    ) -> None:
        """``name`` into ``dest``, resuming a ``.part`` a stopped download left, then checked
        against ``size`` and ``sha256`` where given: a file that is not as listed is refused in
        one line (a wrong checksum's part is removed, so the next try downloads it anew).  ``beat``
        is told each block's bytes (a :class:`~benchbench.core.progress.Heartbeat`)."""
        if (
            dest.is_file()
            and (size is None or dest.stat().st_size == size)
            and sha256 in (None, file_facts(dest)["sha256"])
        ):
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        if size is None or have < size:
            self._download(name, part, have if size is None or have <= size else 0, beat)
        got = part.stat().st_size
        if size is not None and got != size:
            if got > size:
                part.unlink()
            raise Refused(f"{self.where(name)} has {got} bytes, not the {size} its bundle lists: nothing imported")
        if sha256 is not None and file_facts(part)["sha256"] != sha256:
            part.unlink()
            raise Refused(f"{self.where(name)} has other bytes than its bundle lists (SHA-256): nothing imported")
        part.replace(dest)

    def _download(self, name: str, part: Path, start: int, beat) -> None:
        """Append the remote file from byte ``start`` to ``part`` (from 0 where the server cannot
        start elsewhere)."""
        try:
            with self.fs.open(self.path(name), "rb", block_size=CHUNK, cache_type="none") as src:
                block = b""
                if start:
                    try:
                        src.seek(start)
                        block = src.read(CHUNK)
                    except ValueError:  # the server cannot start elsewhere: from byte 0
                        start = 0
                if not start:
                    src.seek(0)
                    block = src.read(CHUNK)
                with open(part, "ab" if start else "wb") as out:
                    while block:
                        out.write(block)
                        out.flush()
                        beat(len(block))
                        block = src.read(CHUNK)
        except FileNotFoundError:
            raise Refused(f"{self.where(name)} not found: nothing imported") from None
        except Exception as exc:
            got = part.stat().st_size if part.exists() else 0
            raise BenchbenchError(
                f"{self.where(name)}: download stopped after {got} bytes ({one_line(exc)}); "
                "run the same command again to resume it"
            ) from None
