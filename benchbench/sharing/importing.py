"""``benchbench import``: a bundle's models, from a path or any fsspec URL, into a run.

Two steps, so that nothing unchecked is ever kept.  *Staging* brings the bundle's files (only
those of the chosen models) into ``<results>/.imports/<hash of the source>/`` — each resumable,
each checked against the size and SHA-256 its listing gives — and checks that every cell id is
the hash of its config.  *Merging* then writes the models into the run under its writer lock: a
model the run lacks (or holds unfinished) is installed whole, in the store's own layout (weights
as ``model.pt``); a model the run holds trained with the same weights gains the evaluations it
lacks; one trained with other weights is kept as it is.  Where each model came from (source,
bundle hash, time) is in its status, in each imported evaluation record and in the manifest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from benchbench.core.files import atomic_write_bytes, atomic_write_json, file_facts, read_json
from benchbench.core.progress import Heartbeat, log
from benchbench.core.provenance import now
from benchbench.core.records import LAYOUT, EvaluationRecord, Manifest, canonical_json
from benchbench.core.registry import BenchbenchError
from benchbench.planning.grids import check_run_name
from benchbench.sharing.bundle import (
    LISTING,
    NOT_TRAINING,
    WEIGHTS,
    Listing,
    check_cells,
    digest,
    verify_bundle,
    weights_bytes,
    weights_from,
)
from benchbench.sharing.transfer import Refused, Remote, filesystem, is_local
from benchbench.storage.migrate import upgrade
from benchbench.storage.store import CellStore, RunStore


@dataclasses.dataclass
class Imported:
    """What an import did: the run, the bundle's hash, and each chosen model's outcome —
    ``installed``, ``evaluations added`` (the run's own copy has the same weights), ``already
    here`` (the same weights, no evaluation to add) or ``kept`` (the run holds it trained with
    other weights, or with none to compare)."""

    run: RunStore
    bundle: str
    outcomes: dict[str, str]

    def line(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        said = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        models = f"{len(self.outcomes)} model{'s' if len(self.outcomes) != 1 else ''}"
        return f"{self.run.path}: {models} from bundle {self.bundle[:16]} ({said})"


# ------------------------------------------------------------------------------------ staging
def _stage_tar(src: str, folder: Path) -> tuple[Listing, Path]:
    """The tar (downloaded, resumably, unless it is local) checked whole, then its files in
    ``folder/files``."""
    if is_local(src):
        tar_path = Path(filesystem(src)[1])
        if not tar_path.is_file():
            raise BenchbenchError(f"no bundle at {src}")
    else:
        tar_path, remote = folder / "bundle.tar", Remote(src)
        size = remote.size()
        log.info(f"fetching {src}" + (f" ({size / 1e6:.1f} MB)" if size else ""))
        remote.fetch("", tar_path, beat=Heartbeat(f"fetching {src}", size or 0, unit="MB", scale=1e6))
    try:
        listing = verify_bundle(tar_path, src)
    except Refused:
        if not is_local(src):
            tar_path.unlink(missing_ok=True)  # the next try downloads it anew
        raise
    files = folder / "files"
    shutil.rmtree(files, ignore_errors=True)
    with tarfile.open(tar_path) as tar:
        tar.extractall(files, filter="data")
    return listing, files


def _stage_folder(src: str, folder: Path, wanted: Iterable[str] | None, expected: str | None) -> tuple[Listing, Path]:
    """The listing, then the files of the chosen models only, into ``folder/files``."""
    remote, files = Remote(src), folder / "files"
    if not remote.exists(LISTING):
        raise BenchbenchError(f"no bundle at {src}: no {LISTING} there")
    listing = Listing.parse(remote.read_bytes(LISTING), src)
    _check_hash(listing, expected, src)
    names = listing.files_of(listing.chosen(wanted, src))
    size = sum(listing.files[n]["size"] for n in names)
    what = f"bundle {listing.hash[:16]}: fetching and checking {len(names)} files"
    log.info(f"{what} ({size / 1e6:.1f} MB) from {src}")
    beat = Heartbeat(what, size, unit="MB", scale=1e6)
    for name in names:
        facts = listing.files[name]
        remote.fetch(name, files / name, facts["size"], facts["sha256"], beat)
    return listing, files


def _check_hash(listing: Listing, expected: str | None, src: str) -> None:
    if expected is not None and listing.hash != expected:
        raise Refused(
            f"{src}: bundle hash {listing.hash[:16]}, not the {expected[:16]} its zoo lists: nothing imported"
        )


def stage(src: str, folder: Path, wanted: Iterable[str] | None = None, expected: str | None = None):
    """``(listing, chosen cell ids, files folder)`` of the bundle at ``src``, every file checked."""
    if src.endswith(".tar"):
        listing, files = _stage_tar(src, folder)
        _check_hash(listing, expected, src)
    else:
        listing, files = _stage_folder(src, folder, wanted, expected)
    chosen = listing.chosen(wanted, src)
    check_cells(files, listing, chosen, src)
    return listing, chosen, files


# ------------------------------------------------------------------------------------ merging
def _add_evaluations(source: Path, model: Path, provenance: dict[str, Any]) -> int:
    """Each evaluation under ``source/evaluations`` that ``model`` lacks, with ``imported`` in its
    record (arrays first: the record marks it complete).  Returns how many were added."""
    added = 0
    for path in sorted(source.glob("evaluations/*/*/evaluation.json")):
        folder = model / path.parent.relative_to(source)
        if read_json(folder / "evaluation.json") is not None:
            continue
        record = EvaluationRecord.from_json(json.loads(path.read_bytes()))
        for name in record.files or {}:
            atomic_write_bytes(folder / name, (path.parent / name).read_bytes())
        atomic_write_json(folder / "evaluation.json", dataclasses.replace(record, imported=provenance).to_json())
        added += 1
    return added


def _models(source: Path) -> list[Path]:
    """A bundle cell's model folders relative to it: the final one, then each kept snapshot."""
    return [Path("."), *sorted(p.relative_to(source) for p in source.glob("snapshots/*") if p.is_dir())]


def _install(source: Path, built: Path, entry: dict[str, Any], provenance: dict[str, Any]) -> None:
    """The cell's folder, as the store lays it out, built at ``built`` from its bundle files."""
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir(parents=True)
    for name in ("config.json", "train_log.csv"):
        if (source / name).is_file():
            shutil.copyfile(source / name, built / name)
    store = CellStore(built)
    for model in _models(source):
        if (source / model / WEIGHTS).is_file():
            CellStore(built / model).save_model(weights_from((source / model / WEIGHTS).read_bytes()))
        _add_evaluations(source / model, built / model, provenance)
    training = entry.get("training") if isinstance(entry.get("training"), dict) else {}
    store.mark_trained(**{k: v for k, v in training.items() if k not in NOT_TRAINING}, imported=provenance)


def _merge_cell(
    cell_id: str, files: Path, run: RunStore, listing: Listing, provenance: dict[str, Any], built: Path
) -> str:
    source, store = files / "cells" / cell_id, run.cell_store(cell_id)
    trained = store.config_path.exists() and store.verified_cell() is not None and store.status().status == "trained"
    if not trained:
        _install(source, built, listing.cells[cell_id], provenance)
        if store.path.exists():
            shutil.rmtree(store.path)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, store.path)
        return "installed"
    added, same = 0, []
    for model in _models(source):
        here, theirs = CellStore(store.path / model), source / model / WEIGHTS
        if here.model_path.is_file() and theirs.is_file():
            same.append(digest(weights_bytes(here.load_model())) == file_facts(theirs)["sha256"])
            added += _add_evaluations(source / model, here.path, provenance) if same[-1] else 0
    if added:
        return "evaluations added"
    return "already here" if same and all(same) else "kept (trained here with other weights, or none to compare)"


def _manifest(run: RunStore, files: Path, listing: Listing, chosen: list[str], provenance: dict[str, Any]) -> Manifest:
    """The run's manifest with the import recorded: the bundle's (its grid, evaluations and how
    its models were made) for a new run; else the run's own, refused where its grid differs."""
    theirs = Manifest.from_json(json.loads((files / "manifest.json").read_bytes()))
    entry = {**provenance, "cells": chosen}
    mine = run.manifest()
    if not mine:
        cells = [c for c in theirs.cells if c in chosen] + [c for c in chosen if c not in theirs.cells]
        weights = None if listing.has_weights else "not kept"
        return dataclasses.replace(theirs, run=run.path.name, cells=cells, weights=weights, imported=[entry])
    if canonical_json(mine.grid) != canonical_json(theirs.grid):
        grids = (
            f"the grid {mine.grid_name} with other settings than the bundle's models"
            if mine.grid_name == theirs.grid_name
            else f"the grid {mine.grid_name}, the bundle's models by {theirs.grid_name}"
        )
        raise BenchbenchError(f"{run.path} was made by {grids}: import them into a new run with --name")
    if not listing.has_weights and not run.keeps_no_weights():
        raise BenchbenchError(
            f"the bundle holds no weights and {run.path} keeps its models': import it into a new run with --name"
        )
    cells = mine.cells + [c for c in chosen if c not in mine.cells]
    return dataclasses.replace(mine, layout=LAYOUT, cells=cells, imported=[*(mine.imported or []), entry])


def merge(run: RunStore, listing: Listing, chosen: list[str], files: Path, src: str, staging: Path) -> Imported:
    """The staged models into ``run`` (see the module's docstring), under its writer lock."""
    provenance = {"from": src, "bundle": listing.hash, "at": now()}
    with run.writing("import"):
        if run.manifest():
            upgrade(run)
        manifest = _manifest(run, files, listing, chosen, provenance)
        log.info(f"bundle {listing.hash[:16]}: every file checked; {len(chosen)} models into {run.path}")
        run.write_manifest(manifest)  # first: a killed import is seen
        for pack in sorted((files / "packs").glob("*/pack.json")):
            if not run.pack_store(pack.parent.name).info_path.exists():
                atomic_write_bytes(run.pack_store(pack.parent.name).info_path, pack.read_bytes())
        outcomes = {c: _merge_cell(c, files, run, listing, provenance, staging / "built" / c) for c in chosen}
    return Imported(run, listing.hash, outcomes)


def import_bundle(
    src: str,
    results_dir: str | Path,
    name: str | None = None,
    wanted: Iterable[str] | None = None,
    expected: str | None = None,
) -> Imported:
    """Stage the bundle at ``src`` (only ``wanted``'s models; its hash checked against ``expected``
    where a zoo gives one), then merge it into the run ``name`` (default: the bundle's)."""
    results_dir = Path(results_dir)
    if name is not None:
        check_run_name(name)
    imports = results_dir / ".imports"
    staging = imports / hashlib.sha256(src.encode()).hexdigest()[:16]
    staging.mkdir(parents=True, exist_ok=True)
    lock = staging.with_suffix(".lock")
    try:
        with FileLock(lock, timeout=0):
            listing, chosen, files = stage(src, staging, wanted, expected)
            run = RunStore(results_dir / check_run_name(name or listing.run or "imported", "the bundle's run name"))
            where = src if not is_local(src) else str(Path(filesystem(src)[1]).resolve())
            result = merge(run, listing, chosen, files, where, staging)
            shutil.rmtree(staging)
    except Timeout:
        raise BenchbenchError(f"{src} is being imported by another benchbench: wait for it to finish") from None
    finally:
        _tidy(staging, lock)
    return result


def _tidy(staging: Path, lock: Path) -> None:
    """Leave nothing staged but what a next try resumes from (downloaded files)."""
    if staging.is_dir() and not any(p.is_file() for p in staging.rglob("*")):
        shutil.rmtree(staging)
    if not staging.exists():
        lock.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # when no other import is staged
