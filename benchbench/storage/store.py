"""The results store: one folder per run, one sub-folder per trained model, every write atomic.

Layout::

    <results>/<run>/manifest.json         grid, its evaluations, package versions, git commit, devices, times
    <results>/<run>/.lock                 the run's writer lock (one ``run``/``evaluate``/``migrate``)
    <results>/<run>/packs/<pack id>/      cells trained together (the id hashes their ids)
        pack.json        its cells, in stacking order
        checkpoint.pt    every model of the pack at one step (removed once their models are saved)
    <results>/<run>/cells/<cell id>/      a cell's id is the hash of its training config
        config.json      the training config
        status.json      {"status": pending|running|trained|failed|diverged, "pack": id, ...;
                         trained: "files", the size and SHA-256 of model.pt, train_log.csv and
                         each snapshot's model.pt}
        train_log.csv    the training curve: step and every loss term, a row per logging interval
        model.pt         the trained network's state_dict
        snapshots/<step>/  the model kept at an earlier step (the grid's ``snapshots``): its
                         model.pt and evaluations/, laid out as the cell's own
        evaluations/<metric>/<key>/      one evaluation: the metric with fully resolved options
            evaluation.json  options, status (done|failed|not_applicable), values, seconds,
                             versions, git commit, device, "files" (each array's size and SHA-256)
            <name>.npy       arrays the metric returned

Every file is written atomically (:mod:`benchbench.core.files`).  The one exception is the
training curve, appended a row at a time so it can be watched; a resume cuts it back to the
pack's checkpoint (and a half-written last row is never read).  An evaluation's record is
written after its arrays, so a record present means the evaluation is complete.  The sizes and
checksums recorded with each finished file let every reader notice damage done to it later
(a size at a glance, the bytes with ``status --verify``), and ``run`` restore it.

The run's writer holds the run's lock, and each job the claims of the cells it works on
(:func:`benchbench.core.files.claimed`).  A cell's training status changes only through the methods
of :class:`CellStore` that name its lifecycle (``pending → running → trained | failed |
diverged``, and back by :meth:`CellStore.mark_retried`); run-level queries (counts, tables) are in
:mod:`benchbench.report.results`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
import socket
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock, Timeout

from benchbench.core.arch import VAENet, build_net
from benchbench.core.files import (
    CLAIM,
    DAMAGED,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_json,
    diagnose,
    file_facts,
    file_problem,
    read_checked,
    read_json,
)
from benchbench.core.progress import lines_to_file
from benchbench.core.provenance import now
from benchbench.core.records import CellStatus, EvaluationRecord, Manifest, ScoredEncoder
from benchbench.core.registry import BenchbenchError, one_line
from benchbench.planning.cells import Cell
from benchbench.plugin.metric import shown_name
from benchbench.storage.checkpoint import PackCheckpoint


class CellStore:
    """One cell's folder."""

    #: The step of an earlier model this store keeps (:class:`SnapshotStore`); ``None``: the final one.
    step: int | None = None

    def __init__(self, path: Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    snapshots_path = property(lambda self: self.path / "snapshots")
    status_path = property(lambda self: self.path / "status.json")
    log_path = property(lambda self: self.path / "train_log.csv")
    model_path = property(lambda self: self.path / "model.pt")
    evaluations_path = property(lambda self: self.path / "evaluations")
    encoder_path = property(lambda self: self.path / "encoder.json")

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

    def status(self) -> CellStatus:
        raw = read_checked(self.status_path)
        if raw is None:
            return CellStatus()
        try:
            return CellStatus.from_json(raw)
        except ValueError as exc:
            problem = "is not valid JSON" if raw is DAMAGED else str(exc)
        if self.model_path.exists():
            diagnose(f"{self.status_path} {problem}: its model.pt is complete, so the cell is taken as trained")
            return CellStatus("trained", damaged=True)
        diagnose(f"{self.status_path} {problem}: the cell is taken as unfinished (its pack resumes or restarts it)")
        return CellStatus("pending", damaged=True)

    # ------------------------------------------------- the training status lifecycle
    def _set_status(self, status: str, **facts: Any) -> None:
        atomic_write_json(self.status_path, CellStatus.from_json({"status": status, **facts}).to_json())

    def repaired_status(self) -> str:
        """The cell's status, written anew as what it was taken for if its file was damaged."""
        status = self.status()
        if status.damaged:  # said already by status()
            self._set_status(status.status)
        return status.status

    def mark_running(self, pack: str, device: torch.device, **where: Any) -> None:
        self._set_status("running", pack=pack, started=now(), device=str(device), **where)

    def mark_trained(self, **facts: Any) -> None:
        """Trained, with what is known of how (pack, device, speed) and the size and checksum of its
        model, curve and kept snapshots; an earlier failure's traceback goes."""
        kept = sorted(self.snapshots_path.glob("*/model.pt"))  # by their folders: a migrated config may be old
        finals = [self.model_path, self.log_path, *kept]
        files = {str(p.relative_to(self.path)): file_facts(p) for p in finals if p.is_file()}
        self._set_status("trained", **facts, files=files)
        (self.path / "error.txt").unlink(missing_ok=True)

    def damaged_files(self, verify: bool = False, weights: bool = True) -> list[str]:
        """A trained cell's model and curve that are not as written (``verify``: their bytes too),
        each as ``"<path> <problem>"`` and said; of a run written before files were recorded, a
        missing model (said, but not restored: see :meth:`restorable`).  Without ``weights`` (a
        run kept without them: :meth:`RunStore.keeps_no_weights`) a missing model is no damage."""
        status = self.status()
        if status.status != "trained" or status.scored is not None:  # a scored encoder keeps no model here
            return []
        missing_weights = not weights and not self.model_path.exists()
        if status.files is None:  # written before files were recorded: only a missing model is seen
            damage = [] if self.model_path.exists() or missing_weights else [f"{self.model_path} is missing"]
            for problem in damage:  # not restored: such runs may keep no weights
                diagnose(f"{problem}: the model cannot be evaluated (delete the cell's folder to train it again)")
            return damage
        files = {n: f for n, f in status.files.items() if not (missing_weights and self.path / n == self.model_path)}
        found = ((self.path / n, file_problem(self.path / n, f, verify)) for n, f in files.items())
        damage = [f"{path} {problem}" for path, problem in found if problem]
        for problem in damage:
            diagnose(f"{problem}: the model cannot be used; running its grid again retrains it with its pack")
        return damage

    def has_model(self) -> bool:
        """Whether metrics can see this cell's model here: its weights, or — for an encoder scored
        here, which keeps none by design — the source it was scored from."""
        return self.model_path.exists() or self.status().scored is not None

    def recorded_files(self) -> int:
        """How many of this cell's files have a recorded size and checksum (its model, curve and
        snapshots, its evaluations' arrays): what ``status --verify`` checks."""
        records = (read_checked(p) for p in self.path.rglob("evaluation.json"))
        arrays = sum(len(r.get("files") or {}) for r in records if isinstance(r, dict))
        return len(self.status().files or {}) + arrays

    def restorable(self) -> bool:
        """Whether ``run`` restores this cell's damaged files: it recorded them when it trained."""
        return self.status().files is not None

    def restart(self) -> None:
        """Back to pending with nothing of its training kept: its model, curve and evaluations go,
        so its pack trains it again from scratch, as if its folder had been deleted."""
        for path in (self.model_path, self.log_path):
            path.unlink(missing_ok=True)
        for folder in (self.evaluations_path, self.snapshots_path):
            if folder.exists():
                shutil.rmtree(folder)
        self._set_status("pending")

    def snapshot(self, step: int) -> SnapshotStore:
        return SnapshotStore(self, step)

    def models(self) -> list[CellStore]:
        """What is evaluated of a trained cell: its final model, then each kept snapshot."""
        return [self, *self.snapshots()]

    def snapshots(self) -> list[SnapshotStore]:
        """The earlier models this cell kept (``snapshots`` in its config), by step."""
        kept = (self.snapshot(step) for step in self.cell().snapshots)
        return [s for s in kept if s.model_path.exists()]

    def mark_failed(self, exc: BaseException) -> None:
        """Failed with ``exc``: its one-line reason in the status, its traceback in ``error.txt``."""
        (self.path / "error.txt").write_text("".join(traceback.format_exception(exc)))
        self._set_status("failed", error=one_line(exc))

    def mark_diverged(self, pack: str, step: int, error: str) -> None:
        self._set_status("diverged", pack=pack, step=step, error=error)

    def mark_scored(self, record: ScoredEncoder) -> None:
        """An encoder scored here, not trained: its record (``encoder.json``, rewritten each time
        it is scored) and, the first time, the status ``trained`` — it has nothing to train."""
        atomic_write_json(self.encoder_path, record.to_json())
        if self.status().status != "trained":
            self.mark_trained(scored=record.source.text)

    def scored(self) -> ScoredEncoder | None:
        """What the cell is if it was scored, not trained, here (:meth:`mark_scored`); ``None``
        for a model trained here."""
        raw = read_json(self.encoder_path)
        return None if raw is None else ScoredEncoder.from_json(raw)

    def mark_retried(self) -> str:
        """A failed or diverged cell given another try: ``trained`` if its model was saved (only
        its evaluations are retried), else ``pending``.  Returns the new status."""
        status = "trained" if self.model_path.exists() else "pending"
        self._set_status(status)
        return status

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

    def write_evaluation(self, record: EvaluationRecord, artifacts: dict[str, np.ndarray]) -> None:
        """Write an evaluation's arrays, then its record (the record marks it complete)."""
        folder = self.evaluation_path(record.metric, record.key)
        if folder.exists() and not folder.is_dir():  # something else in its place: replaced
            diagnose(f"{folder} is not a folder: replaced by the evaluation")
            folder.unlink()
        files = {}
        for name, array in artifacts.items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            atomic_write_bytes(folder / f"{name}.npy", buffer.getvalue())
            files[f"{name}.npy"] = file_facts(folder / f"{name}.npy")
        complete = dataclasses.replace(record, artifacts=sorted(artifacts), files=files)
        atomic_write_json(folder / "evaluation.json", complete.to_json())

    def evaluation(self, metric: str, key: str, verify: bool = False) -> EvaluationRecord | None:
        """The record of one evaluation; ``None`` if there is none, or if it or one of its arrays
        is damaged (said; ``verify``: the arrays' bytes checked too)."""
        folder = self.evaluation_path(metric, key)
        path = folder / "evaluation.json"
        raw = read_checked(path)
        if raw is None:
            return None
        try:
            record = EvaluationRecord.from_json(raw)
        except ValueError:
            diagnose(f"{path} is not a readable evaluation record: the evaluation will be computed again")
            return None
        for name, facts in (record.files or {}).items():
            if problem := file_problem(folder / name, facts, verify):
                diagnose(f"{folder / name} {problem}: the evaluation will be computed again")
                return None
        return record

    def evaluations(self, verify: bool = False) -> list[EvaluationRecord]:
        """Every readable, undamaged evaluation record of this cell, sorted by metric and key."""
        paths = sorted(self.evaluations_path.glob("*/*/evaluation.json"))
        found = (self.evaluation(p.parent.parent.name, p.parent.name, verify) for p in paths)
        return [r for r in found if r is not None]

    def artifact(self, metric: str, key: str, name: str) -> np.ndarray | None:
        path = self.evaluation_path(metric, key) / f"{name}.npy"
        return np.load(path) if path.exists() else None


class SnapshotStore(CellStore):
    """A cell's model at an earlier step (``cells/<id>/snapshots/<step>/``): its weights and its
    evaluation records, kept and keyed exactly as the final model's; its config is the cell's."""

    def __init__(self, cell: CellStore, step: int):
        super().__init__(cell.snapshots_path / str(step))
        self.owner, self.step = cell, step

    config_path = property(lambda self: self.owner.config_path)

    def status(self) -> CellStatus:
        return CellStatus("trained" if self.model_path.exists() else "pending")


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

    def save_checkpoint(self, checkpoint: PackCheckpoint) -> None:
        checkpoint.save(self.checkpoint_path)

    def load_checkpoint(self) -> PackCheckpoint | None:
        """The pack's checkpoint; ``None`` if there is none, or if it cannot be read (said: the
        pack then starts over from step 0)."""
        if not self.checkpoint_path.exists():
            return None
        try:
            return PackCheckpoint.load(self.checkpoint_path)
        except Exception as exc:
            problem = "is empty" if self.checkpoint_path.stat().st_size == 0 else f"cannot be read ({one_line(exc)})"
            diagnose(f"{self.checkpoint_path} {problem}: the pack starts over from step 0")
            return None

    def drop_checkpoint(self) -> None:
        self.checkpoint_path.unlink(missing_ok=True)


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
    progress_path = property(lambda self: self.path / "progress.log")

    @contextlib.contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Hold the run's writer lock (one ``run``, ``evaluate`` or ``migrate`` at a time); its
        progress lines go to the run's ``progress.log`` meanwhile.

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
            with lines_to_file(self.progress_path, command):
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

    def keeps_no_weights(self) -> bool:
        """Whether the run was kept without its models' weights on purpose (its manifest says
        ``"weights": "not kept"``, as committed reference runs do: records, curves and reports
        only).  A model missing there is no damage."""
        return self.manifest().weights == "not kept"

    def trained_cell(self, cell_id: str | None = None) -> CellStore:
        """The cell ``cell_id``, or the first with a trained model."""
        for store in self.cell_stores():
            if store.model_path.exists() and cell_id in (None, store.path.name):
                return store
        raise BenchbenchError(f"{self.path}: no trained model" + (f" for cell {cell_id}" if cell_id else ""))

    def manifest(self) -> Manifest:
        raw = read_checked(self.manifest_path)
        if raw is None:
            return Manifest()
        if isinstance(raw, dict):
            return Manifest.from_json(raw)
        diagnose(f"{self.manifest_path} is not valid JSON: read as empty (the next run of its grid writes it anew)")
        return Manifest()

    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write_json(self.manifest_path, manifest.to_json())

    def check_layout(self) -> None:
        """Refuse, in one line naming the converting command, a run in the layout before evaluations
        were records of their own (metric options inside each cell's config)."""
        if self.manifest().layout is not None:  # layout 2 reads as it is; a writer converts it (migrate.upgrade)
            return
        cells_dir = self.path / "cells"
        configs = sorted(cells_dir.glob("*/config.json")) if cells_dir.is_dir() else []
        if any("metrics" in c for c in map(read_checked, configs) if isinstance(c, dict)):
            raise BenchbenchError(
                f"{self.path} was written by an older benchbench (metrics inside each cell's config); "
                f"convert it with: benchbench migrate {self.path}"
            )

    def grid_evaluations(self) -> dict[str, dict[str, Any]]:
        """The run's grid's evaluations as recorded in the manifest, by the name tables give them
        (:func:`benchbench.plugin.metric.shown_name`): ``{name: {"metric", "key", "options", …}}``."""
        return {shown_name(e["metric"], e["options"]): e for e in self.manifest().evaluations}


def open_run(ref: str | Path, results_dir: str | Path | None = None, current: bool = True) -> RunStore:
    """The run at ``ref`` (a folder, or a run name under ``results_dir``): a one-line error if
    there is none, or (with ``current``) if an older benchbench wrote it."""
    tried = [Path(ref)] + ([Path(results_dir) / ref] if results_dir is not None else [])
    for path in tried:
        if (path / "manifest.json").is_file():
            run = RunStore(path)
            if current:
                run.check_layout()
            return run
    elsewhere = f" (nor {tried[1]})" if len(tried) > 1 else ""
    raise BenchbenchError(f"no run at {str(ref)!r}{elsewhere}: no manifest.json there")
