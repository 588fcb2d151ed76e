"""``benchbench migrate``: convert a run written by an older benchbench to today's layout
(:data:`benchbench.core.records.LAYOUT`).

Layout 2 → 3: an evaluation's key no longer hashes the options that only say how it runs
(:func:`benchbench.plugin.metric.execution`, e.g. ``device``), so each such record is moved to the folder
of its new key and says which options those are; the manifest's evaluations likewise.  Values,
arrays and every other field are kept.  A writer (``run``, ``evaluate``, ``score``) does this
itself before it writes (:func:`upgrade`).

Layout 1 (before evaluations were records of their own): a cell's config held its metric
options (so its id hashed them), its values sat in ``metrics.json`` and its arrays in
``artifacts/``.  Converting keeps every trained model and every computed number: the config
loses its metrics (the cell takes its new, training-only id and its folder is renamed to it),
each metric's values and arrays become an evaluation record keyed by its options resolved
against today's metric signatures, and a ``done`` cell becomes ``trained``.  Each step is
idempotent, so a conversion that is interrupted is finished by running it again.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

import numpy as np

from benchbench.core.files import atomic_write_json, read_json
from benchbench.core.records import LAYOUT, EvaluationRecord
from benchbench.core.registry import BenchbenchError, metrics
from benchbench.planning.cells import Cell
from benchbench.planning.grids import grid_evaluations
from benchbench.plugin.metric import EvalSpec, declaration
from benchbench.storage.store import CellStore, RunStore


def _records(store: CellStore, cell: Cell, options: dict[str, dict[str, Any]], manifest: dict[str, Any]) -> None:
    """The old ``metrics.json`` and ``artifacts/`` of a cell as evaluation records."""
    status = read_json(store.status_path, {"status": "pending"})  # "done" is no status of today's layout
    devices = manifest.get("devices") or [None]
    base = {
        "cell": cell.id,
        "device": status.get("device", devices[0]),
        "versions": manifest.get("versions"),
        "git_commit": manifest.get("git_commit"),
        "migrated_from": "metrics.json",
    }
    for metric, values in read_json(store.path / "metrics.json", {}).items():
        spec = EvalSpec.of(metric, options.get(metric, {}))
        seconds = values.pop("seconds", None)
        arrays = {
            path.name[len(metric) + 1 : -len(".npy")]: np.load(path)
            for path in sorted((store.path / "artifacts").glob(f"{metric}.*.npy"))
        }
        fields = {**spec.to_json(), **base, "status": "done", "values": values, "seconds": seconds}
        store.write_evaluation(EvaluationRecord.from_json(fields), arrays)
    if status["status"] == "done":
        store.mark_trained(**{k: v for k, v in status.items() if k not in ("status", "files")})


def migrate(run: RunStore) -> tuple[int, int]:
    """Convert ``run`` in place; returns how many cells were converted (layout 1) and how many
    evaluations re-keyed (layout 2); ``(0, 0)``: already current."""
    manifest = run.manifest()
    if not manifest:
        raise BenchbenchError(f"{run.manifest_path}: empty or unreadable, so its layout is unknown; nothing converted")
    if manifest.layout == LAYOUT:
        return 0, 0
    if manifest.layout == 2:
        return 0, _rekey(run)
    return _from_layout_1(run), 0


def upgrade(run: RunStore) -> None:
    """What a writer does first, holding the run's lock: a layout-2 run converted (said in one
    line on stderr); a layout-1 run refused (:meth:`~benchbench.storage.store.RunStore.check_layout`)."""
    run.check_layout()
    if run.manifest().layout == 2:
        rekeyed = _rekey(run)
        print(f"note: {run.path} converted to layout {LAYOUT} ({rekeyed} evaluations re-keyed)", file=sys.stderr)


def _rekey(run: RunStore) -> int:
    """Layout 2 → 3: each record of a metric with execution options moved to its new key's folder."""
    moved = 0
    for path in sorted(run.path.glob("cells/*/evaluations/*/*/evaluation.json")) + sorted(
        run.path.glob("cells/*/snapshots/*/evaluations/*/*/evaluation.json")
    ):
        raw = read_json(path)
        spec = _current(raw["metric"], raw["options"]) if isinstance(raw, dict) and "options" in raw else None
        if spec is None:
            continue  # unreadable (said when read), or a metric not loaded or without execution options: key kept
        record = EvaluationRecord.from_json(raw)
        folder = path.parent
        if spec.key != folder.name:
            target = folder.parent / spec.key
            if target.exists():  # computed since under the new key: that one stays
                shutil.rmtree(folder)
                continue
            folder.rename(target)  # first the folder, then the record: a rerun finishes either half
            path = target / "evaluation.json"
            moved += 1
        if (record.key, record.execution) != (spec.key, list(spec.execution)):
            record.key, record.execution = spec.key, list(spec.execution)
            atomic_write_json(path, record.to_json())
    manifest = run.manifest()
    manifest.evaluations = [_rekeyed(e) for e in manifest.evaluations]
    manifest.layout = LAYOUT
    run.write_manifest(manifest)
    return moved


def _rekeyed(entry: dict[str, Any]) -> dict[str, Any]:
    """A manifest's evaluation as this layout keys it (as it was, for a metric not loaded)."""
    spec = _current(entry["metric"], entry["options"])
    return entry if spec is None else {**entry, "key": spec.key, "execution": list(spec.execution)}


def current_key(metric: str, options: dict[str, Any], key: str) -> str:
    """The key this layout gives the evaluation an older run recorded as ``key`` with ``options``
    (``key`` itself where it is unchanged, or where the metric is not loaded)."""
    spec = _current(metric, options)
    return key if spec is None else spec.key


def _current(metric: str, options: dict[str, Any]) -> EvalSpec | None:
    """The evaluation as layout 3 keys it; ``None`` where its key is unchanged (a metric without
    execution options) or cannot be known (a metric not loaded)."""
    execution = declaration(metric).execution_options if metric in metrics else ()
    return EvalSpec(metric, options, execution) if execution else None


def _from_layout_1(run: RunStore) -> int:
    manifest = run.manifest()
    cells_dir, ids, converted = run.path / "cells", [], 0
    for folder in sorted(p for p in cells_dir.iterdir() if p.is_dir()) if cells_dir.is_dir() else []:
        config = read_json(folder / "config.json")
        if config is None:
            continue
        options = config.pop("metrics", None)
        cell = Cell.from_config(config)
        store = CellStore(folder)
        if options is not None:
            _records(store, cell, options, manifest.to_json())
            atomic_write_json(store.config_path, cell.config())
        (folder / "metrics.json").unlink(missing_ok=True)
        shutil.rmtree(folder / "artifacts", ignore_errors=True)
        if folder.name != cell.id:
            target = cells_dir / cell.id
            if target.exists():
                raise BenchbenchError(f"{folder}: cannot rename to {target.name}: that cell folder exists already")
            folder.rename(target)
            converted += 1
        ids.append(cell.id)
    spec = manifest.grid_spec
    manifest.layout = LAYOUT
    manifest.cells = sorted(ids)
    manifest.evaluations = [s.to_json() for s in grid_evaluations(spec)] if spec else []
    run.write_manifest(manifest)
    return converted
