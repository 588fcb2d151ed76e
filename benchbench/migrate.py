"""``benchbench migrate``: convert a run written before evaluations were records of their own.

In that layout a cell's config held its metric options (so its id hashed them), its values sat
in ``metrics.json`` and its arrays in ``artifacts/``.  Converting keeps every trained model and
every computed number: the config loses its metrics (the cell takes its new, training-only id and
its folder is renamed to it), each metric's values and arrays become an evaluation record keyed
by its options resolved against today's metric signatures, and a ``done`` cell becomes
``trained``.  Each step is idempotent, so a conversion that is interrupted is finished by
running it again.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from benchbench.cells import Cell
from benchbench.files import atomic_write_json, read_json
from benchbench.grids import grid_evaluations
from benchbench.metric import EvalSpec
from benchbench.registry import BenchbenchError
from benchbench.store import LAYOUT, CellStore, RunStore


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
        store.write_evaluation(
            {**spec.to_json(), **base, "status": "done", "values": values, "seconds": seconds}, arrays
        )
    if status["status"] == "done":
        store.mark_trained(**{k: v for k, v in status.items() if k not in ("status", "files")})


def migrate(run: RunStore) -> int:
    """Convert ``run`` in place; returns how many cells were converted (0: already current)."""
    manifest = run.manifest()
    if not manifest:
        raise BenchbenchError(f"{run.manifest_path}: empty or unreadable, so its layout is unknown; nothing converted")
    if manifest.get("layout") == LAYOUT:
        return 0
    cells_dir, ids, converted = run.path / "cells", [], 0
    for folder in sorted(p for p in cells_dir.iterdir() if p.is_dir()) if cells_dir.is_dir() else []:
        config = read_json(folder / "config.json")
        if config is None:
            continue
        options = config.pop("metrics", None)
        cell = Cell.from_config(config)
        store = CellStore(folder)
        if options is not None:
            _records(store, cell, options, manifest)
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
    spec = manifest.get("grid", {}).get("spec")
    manifest.update(
        layout=LAYOUT,
        cells=sorted(ids),
        evaluations=[s.to_json() for s in grid_evaluations(spec)] if spec else [],
    )
    run.write_manifest(manifest)
    return converted
