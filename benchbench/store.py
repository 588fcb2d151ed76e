"""The results store: one folder per run, one sub-folder per trained model, every write atomic.

Layout::

    <results>/<run>/manifest.json         grid, its evaluations, package versions, git commit, devices, times
    <results>/<run>/.lock                 the run's writer lock (one ``run``/``evaluate``/``migrate``)
    <results>/<run>/packs/<pack id>/      cells trained together (the id hashes their ids)
        pack.json        its cells, in stacking order
        checkpoint.pt    every model of the pack at one step (removed once their models are saved)
    <results>/<run>/cells/<cell id>/      a cell's id is the hash of its training config
        config.json      the training config
        status.json      {"status": pending|running|trained|failed|diverged, "pack": id, ...}
        train_log.csv    the training curve: step and every loss term, a row per logging interval
        model.pt         the trained network's state_dict
        evaluations/<metric>/<key>/      one evaluation: the metric with fully resolved options
            evaluation.json  options, status (done|failed|not_applicable), values, seconds,
                             versions, git commit, device
            <name>.npy       arrays the metric returned

A write goes to a temp file in the same folder and is renamed into place, so a crash at any
moment leaves either the old file or the new one, never half of one.  The one exception is the
training curve, appended a row at a time so it can be watched; a resume cuts it back to the
pack's checkpoint (and a half-written last row is never read).  An evaluation's record is
written after its arrays, so a record present means the evaluation is complete.

Whoever writes into a cell's or a pack's folder first holds its claim (``.claim.lock``, an OS
file lock, see :func:`claimed`): the run's writer holds the run, and each job the cells it
works on, so a job that a cluster runs twice never writes one cell from two places at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock, Timeout

from benchbench.arch import VAENet, build_net
from benchbench.cells import Cell
from benchbench.provenance import now
from benchbench.registry import BenchbenchError, one_line

#: A cell's training status (its evaluations have their own, in their records).
STATUSES = ("pending", "running", "trained", "failed", "diverged")
EVALUATION_STATUSES = ("done", "failed", "not_applicable")
#: Version of the run folder layout, in the manifest; runs written before evaluations were
#: records of their own have none (see :mod:`benchbench.migrate`).
LAYOUT = 2


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
    benchbench does about it.  A damaged file never stops the rest of the run."""
    if message not in _said:
        _said.add(message)
        print(f"warning: {message}", file=sys.stderr)


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


class CellStore:
    """One cell's folder."""

    def __init__(self, path: Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    log_path = property(lambda self: self.path / "train_log.csv")
    model_path = property(lambda self: self.path / "model.pt")
    evaluations_path = property(lambda self: self.path / "evaluations")

    def cell(self) -> Cell:
        return Cell.from_config(read_json(self.config_path))

    def verified_cell(self) -> Cell | None:
        """The cell, if its config can be read and hashes to its folder's name; else ``None``,
        said in one line (the cell is left out: its id no longer says what it is)."""
        raw = read_checked(self.config_path)
        if raw is None:
            return None
        try:
            cell = Cell.from_config(raw) if isinstance(raw, dict) else None
        except TypeError:
            cell = None
        if cell is None:
            diagnose(f"{self.config_path} is not a cell's config: cell left out (delete its folder to retrain it)")
        elif cell.id != self.path.name:
            diagnose(
                f"{self.config_path} describes cell {cell.id} ({cell.label}), not {self.path.name}: cell left out "
                "(restore the file, or delete the folder)"
            )
            cell = None
        return cell

    def status(self) -> dict[str, Any]:
        raw = read_checked(self.status_path)
        if raw is None:
            return {"status": "pending"}
        if isinstance(raw, dict) and raw.get("status") in STATUSES:
            return raw
        problem = "is not valid JSON" if raw is DAMAGED else f"has no known status ({str(raw)[:40]})"
        if self.model_path.exists():
            diagnose(f"{self.status_path} {problem}: its model.pt is complete, so the cell is taken as trained")
            return {"status": "trained", "damaged": True}
        diagnose(f"{self.status_path} {problem}: the cell is taken as unfinished (its pack resumes or restarts it)")
        return {"status": "pending", "damaged": True}

    def set_status(self, status: str, **extra: Any) -> None:
        assert status in STATUSES, status
        atomic_write_json(self.status_path, {"status": status, **extra})
        if status == "trained":
            (self.path / "error.txt").unlink(missing_ok=True)  # an earlier failure's traceback

    def write_log(self, rows: list[dict[str, float]]) -> None:
        """Replace the training curve with ``rows``."""
        if not rows:
            self.log_path.unlink(missing_ok=True)
            return
        atomic_write_bytes(self.log_path, "".join(_log_lines(rows, header=True)).encode())

    def append_log(self, rows: list[dict[str, float]]) -> None:
        """Add ``rows`` to the training curve (the header first, for a new one)."""
        new = not self.log_path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as fh:
            fh.writelines(_log_lines(rows, header=new))

    def read_log(self) -> list[dict[str, float]]:
        """The training curve's complete rows (a row cut short by a crash is left out)."""
        if not self.log_path.exists():
            return []
        header, *lines = self.log_path.read_text(errors="replace").split("\n")
        columns = header.split(",")
        rows = []
        for line in lines:
            fields = line.split(",")
            try:
                if len(fields) != len(columns):
                    raise ValueError
                rows.append(dict(zip(columns, map(float, fields))))
            except ValueError:
                break
        return rows

    def save_model(self, state_dict: dict[str, torch.Tensor]) -> None:
        atomic_torch_save(self.model_path, state_dict)

    def load_model(self) -> dict[str, torch.Tensor]:
        return torch.load(self.model_path, weights_only=True, map_location="cpu")

    def load_net(self, image_shape: tuple[int, int, int]) -> VAENet:
        """The trained network, on the CPU."""
        cell = self.cell()
        net = build_net(cell.arch, image_shape, cell.latent_dim)
        net.load_state_dict(self.load_model())
        return net

    def evaluation_path(self, metric: str, key: str) -> Path:
        return self.evaluations_path / metric / key

    def write_evaluation(self, record: dict[str, Any], artifacts: dict[str, np.ndarray]) -> None:
        """Write an evaluation's arrays, then its record (the record marks it complete)."""
        folder = self.evaluation_path(record["metric"], record["key"])
        for name, array in artifacts.items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            atomic_write_bytes(folder / f"{name}.npy", buffer.getvalue())
        atomic_write_json(folder / "evaluation.json", {**record, "artifacts": sorted(artifacts)})

    def evaluation(self, metric: str, key: str) -> dict[str, Any] | None:
        """The record of one evaluation; ``None`` if there is none, or if it is damaged (said)."""
        path = self.evaluation_path(metric, key) / "evaluation.json"
        record = read_checked(path)
        if record is None:
            return None
        fields = ("metric", "key", "status")
        if isinstance(record, dict) and all(k in record for k in fields) and record["status"] in EVALUATION_STATUSES:
            if record["status"] != "done" or isinstance(record.get("values"), dict):
                return record
        diagnose(f"{path} is not a readable evaluation record: the evaluation will be computed again")
        return None

    def evaluations(self) -> list[dict[str, Any]]:
        """Every readable evaluation record of this cell, sorted by metric and key."""
        paths = sorted(self.evaluations_path.glob("*/*/evaluation.json"))
        found = (self.evaluation(p.parent.parent.name, p.parent.name) for p in paths)
        return [r for r in found if r is not None]

    def artifact(self, metric: str, key: str, name: str) -> np.ndarray | None:
        path = self.evaluation_path(metric, key) / f"{name}.npy"
        return np.load(path) if path.exists() else None


def _log_lines(rows: list[dict[str, float]], header: bool) -> list[str]:
    columns = list(rows[0]) if rows else []
    lines = [",".join(repr(float(r[c])) for c in columns) + "\n" for r in rows]
    return ([",".join(columns) + "\n"] if header and rows else []) + lines


class PackStore:
    """A pack's folder: which cells train together (``pack.json``, in stacking order) and their
    shared checkpoint, every model at one step, written as one file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    info_path = property(lambda self: self.path / "pack.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")

    @property
    def id(self) -> str:
        return self.path.name

    def cells(self) -> list[str]:
        raw = read_checked(self.info_path)
        if raw is None:
            return []
        if isinstance(raw, dict) and isinstance(raw.get("cells"), list):
            return raw["cells"]
        diagnose(f"{self.info_path} is not readable: its cells will be packed again")
        return []

    def write(self, cell_ids: list[str], max_size: int) -> None:
        atomic_write_json(self.info_path, {"cells": list(cell_ids), "max_size": max_size})

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_torch_save(self.checkpoint_path, state)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The pack's checkpoint; ``None`` if there is none, or if it cannot be read (said: the
        pack then starts over from step 0)."""
        if not self.checkpoint_path.exists():
            return None
        try:
            state = torch.load(self.checkpoint_path, weights_only=True, map_location="cpu")
            missing = CHECKPOINT_KEYS - set(state)
            if missing:
                raise ValueError(f"no {', '.join(sorted(missing))}")
            return state
        except Exception as exc:
            problem = "is empty" if self.checkpoint_path.stat().st_size == 0 else f"cannot be read ({one_line(exc)})"
            diagnose(f"{self.checkpoint_path} {problem}: the pack starts over from step 0")
            return None

    def drop_checkpoint(self) -> None:
        self.checkpoint_path.unlink(missing_ok=True)


CHECKPOINT_KEYS = {
    "step",
    "cells",
    "params",
    "adam_m",
    "adam_v",
    "aux",
    "aux_m",
    "aux_v",
    "state",
    "rng",
    "sums",
    "since_log",
}


def pack_id(cell_ids: list[str]) -> str:
    """A pack's id: the hash of its cells' ids in stacking order."""
    return hashlib.sha256(",".join(cell_ids).encode()).hexdigest()[:16]


class RunStore:
    """A run's folder: its manifest and its cells."""

    def __init__(self, path: Path):
        self.path = Path(path)

    manifest_path = property(lambda self: self.path / "manifest.json")
    lock_path = property(lambda self: self.path / ".lock")
    holder_path = property(lambda self: self.path / ".lock.json")

    @contextlib.contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Hold the run's writer lock (one ``run``, ``evaluate`` or ``migrate`` at a time).

        The lock is an OS file lock, so one left by a killed process never blocks; a second
        writer is refused in one line naming the holder.  Temp files a killed writer left behind
        are removed once the lock is held."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = FileLock(self.lock_path, timeout=0)
            lock.acquire()
        except Timeout:
            holder = read_json(self.holder_path) or {}
            who = ", ".join(f"{k} {holder[k]}" for k in ("command", "host", "pid", "started") if k in holder)
            raise BenchbenchError(
                f"{self.path} is being written by another benchbench ({who or 'holder unknown'}); "
                "wait for it to finish or stop it"
            ) from None
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            info = {"command": command, "host": socket.gethostname(), "pid": os.getpid(), "started": now()}
            atomic_write_json(self.holder_path, info)
            self._remove_unclaimed_leftovers()
            yield
        finally:
            self.holder_path.unlink(missing_ok=True)
            lock.release()

    def _remove_unclaimed_leftovers(self) -> None:
        """Temp files a killed writer left, except in a cell or pack a job still holds (a job
        on a cluster may outlive the client that submitted it; it cleans its own folders)."""
        for leftover in self.path.rglob(".*.tmp"):
            parts = leftover.relative_to(self.path).parts
            if len(parts) > 2 and parts[0] in ("cells", "packs"):
                lock = FileLock(self.path / parts[0] / parts[1] / CLAIM)
                try:
                    with lock.acquire(timeout=0):
                        leftover.unlink(missing_ok=True)
                except Timeout:
                    pass
            else:
                leftover.unlink(missing_ok=True)

    def _unwritable(self, exc: OSError) -> BenchbenchError:
        return BenchbenchError(f"cannot write to {self.path}: {exc.strerror or exc}")

    def check_writable(self) -> None:
        """Fail in one line unless this process can create files in the run's folder."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".probe.", suffix=".tmp"):
                pass
        except OSError as exc:
            raise self._unwritable(exc) from None

    def is_being_written(self) -> bool:
        """Whether a writer holds the run's lock now."""
        if not self.lock_path.exists():
            return False
        try:
            with FileLock(self.lock_path, timeout=0):
                return False
        except Timeout:
            return True

    def cell_store(self, cell_id: str) -> CellStore:
        return CellStore(self.path / "cells" / cell_id)

    def pack_store(self, pack: str) -> PackStore:
        return PackStore(self.path / "packs" / pack)

    def pack_stores(self) -> list[PackStore]:
        packs_dir = self.path / "packs"
        if not packs_dir.is_dir():
            return []
        return [PackStore(p) for p in sorted(packs_dir.iterdir()) if (p / "pack.json").exists()]

    def packs_of_cells(self) -> dict[str, str]:
        """Cell id → the pack it belongs to."""
        return {cell: pack.id for pack in self.pack_stores() for cell in pack.cells()}

    def add_cell(self, cell: Cell) -> CellStore | None:
        """The cell's folder, its config written if new; ``None`` if a config there no longer
        matches the cell (said; the cell is left out rather than mixed up with another)."""
        store = self.cell_store(cell.id)
        if not store.config_path.exists():
            atomic_write_json(store.config_path, cell.config())
            return store
        return store if store.verified_cell() is not None else None

    def cell_stores(self) -> list[CellStore]:
        """The run's cells whose config matches their folder (the others are said and left out)."""
        cells_dir = self.path / "cells"
        if not cells_dir.is_dir():
            return []
        stores = [CellStore(p) for p in sorted(cells_dir.iterdir()) if (p / "config.json").exists()]
        return [s for s in stores if s.verified_cell() is not None]

    def problems(self) -> tuple[list[str], list[str]]:
        """``(damaged, missing)``: cell folders left out (config unreadable or not matching the
        folder) and cells of the manifest with no folder at all."""
        cells_dir = self.path / "cells"
        folders = sorted(p for p in cells_dir.iterdir() if p.is_dir()) if cells_dir.is_dir() else []
        damaged = [p.name for p in folders if CellStore(p).verified_cell() is None]
        present = {p.name for p in folders}
        missing = [c for c in self.manifest().get("cells", []) if c not in present]
        return damaged, missing

    def trained_cell(self, cell_id: str | None = None) -> CellStore:
        """The cell ``cell_id``, or the first with a trained model."""
        for store in self.cell_stores():
            if store.model_path.exists() and cell_id in (None, store.path.name):
                return store
        raise BenchbenchError(f"{self.path}: no trained model" + (f" for cell {cell_id}" if cell_id else ""))

    def manifest(self) -> dict[str, Any]:
        raw = read_checked(self.manifest_path)
        if raw is None:
            return {}
        if isinstance(raw, dict):
            return raw
        diagnose(f"{self.manifest_path} is not valid JSON: read as empty (the next run of its grid writes it anew)")
        return {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path, manifest)

    def check_layout(self) -> None:
        """Refuse, in one line naming the converting command, a run in the layout before evaluations
        were records of their own (metric options inside each cell's config)."""
        if self.manifest().get("layout") == LAYOUT:
            return
        cells_dir = self.path / "cells"
        configs = sorted(cells_dir.glob("*/config.json")) if cells_dir.is_dir() else []
        if any("metrics" in c for c in map(read_checked, configs) if isinstance(c, dict)):
            raise BenchbenchError(
                f"{self.path} was written by an older benchbench (metrics inside each cell's config); "
                f"convert it with: benchbench migrate {self.path}"
            )

    def grid_evaluations(self) -> dict[str, dict[str, Any]]:
        """The run's grid's evaluations as recorded in the manifest: ``{metric: {"key", "options"}}``."""
        return {e["metric"]: e for e in self.manifest().get("evaluations", [])}

    def evaluation_keys(self, chosen: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
        """Which evaluation of each metric tables show: ``chosen`` (``{metric: key or key prefix}``),
        else the grid's, else the only one there is.  A metric evaluated with several option sets
        and none of them chosen is left out with a note, never mixed.  Returns ``(keys, notes)``."""
        found: dict[str, set[str]] = {}
        for store in self.cell_stores():
            for record in store.evaluations():
                if record.get("status") == "done":
                    found.setdefault(record["metric"], set()).add(record["key"])
        grid = self.grid_evaluations()
        keys, notes = {}, []
        for metric, wanted in (chosen or {}).items():
            matches = sorted(k for k in found.get(metric, ()) if k.startswith(wanted))
            if len(matches) != 1:
                have = ", ".join(sorted(found.get(metric, ()))) or "none"
                problem = "matches several" if matches else "matches no evaluation"
                raise BenchbenchError(f"--evaluation {metric}={wanted}: {problem} of this run (keys: {have})")
            keys[metric] = matches[0]
        for metric in sorted(set(found) | set(grid)):
            if metric in keys:
                continue
            if metric in grid:
                keys[metric] = grid[metric]["key"]
            elif len(found[metric]) == 1:
                keys[metric] = next(iter(found[metric]))
            else:
                options = ", ".join(sorted(found[metric]))
                notes.append(
                    f"{metric}: evaluated with {len(found[metric])} option sets ({options}) and none is the grid's; "
                    f"left out: pick one with --evaluation {metric}=KEY"
                )
        return keys, notes

    def status_counts(self) -> dict[str, Any]:
        """Models per training status (``interrupted``: running, but no writer holds the run);
        evaluations done / failed / not applicable / missing (the grid's evaluations a trained
        model lacks); and ``failures``: ``(cell label, what, error)``."""
        models = dict.fromkeys((*STATUSES, "interrupted"), 0)
        evals = dict.fromkeys(("done", "failed", "not_applicable", "missing"), 0)
        failures = []
        grid = self.grid_evaluations()
        writing = self.is_being_written()
        for store in self.cell_stores():
            status, label = store.status(), store.cell().label
            running_nowhere = status["status"] == "running" and not writing
            models["interrupted" if running_nowhere else status["status"]] += 1
            if status["status"] in ("failed", "diverged"):
                failures.append((label, status["status"], status.get("error", "")))
            records = store.evaluations()
            for record in records:
                evals[record["status"]] += 1
                if record["status"] == "failed":
                    failures.append((label, f"evaluation {record['metric']} failed", record.get("error", "")))
            if status["status"] == "trained":
                have = {(r["metric"], r["key"]) for r in records}
                evals["missing"] += sum((m, e["key"]) not in have for m, e in grid.items())
            if running_nowhere:
                failures.append((label, "interrupted", "run the same command to resume"))
        damaged, missing = self.problems()
        failures += [
            (f"cell {c}", "damaged", "config unreadable or not matching its folder: left out") for c in damaged
        ]
        failures += [
            (f"cell {c}", "missing", "in the manifest but its folder is gone: rerun to train it") for c in missing
        ]
        models.update(damaged=len(damaged), missing=len(missing))
        return {"models": models, "evaluations": evals, "failures": failures}


def results_table(run: RunStore, keys: dict[str, str] | None = None):
    """One row per cell: dataset, method, hyperparameters, seed, training status and every
    scalar value (columns ``metric.value``) of the evaluations ``keys`` picks per metric
    (default: :meth:`RunStore.evaluation_keys`)."""
    import pandas as pd

    if keys is None:
        keys = run.evaluation_keys()[0]
    rows = []
    for store in run.cell_stores():
        cell = store.cell()
        row = {"cell": cell.id, "dataset": cell.dataset, "method": cell.method}
        row.update({f"hp.{k}": v for k, v in cell.hyperparameters.items()})
        row.update(seed=cell.seed, status=store.status()["status"])
        for metric, key in keys.items():
            record = store.evaluation(metric, key)
            if record and record["status"] == "done":
                row.update({f"{metric}.{k}": v for k, v in record["values"].items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    hp = sorted(c for c in table.columns if c.startswith("hp."))
    front = ["cell", "dataset", "method", *hp, "seed", "status"]
    return table[[c for c in front if c in table] + [c for c in table if c not in front]]
