"""The results store: one folder per run, one sub-folder per cell, every write atomic.

Layout::

    <results>/<run>/manifest.json         grid, package versions, git commit, devices, times
    <results>/<run>/cells/<cell id>/
        config.json      the cell's full config (its id is the hash of this)
        status.json      {"status": pending|running|trained|done|failed|diverged, ...}
        train_log.csv    the training curve: step and every loss term
        checkpoint.pt    the latest training state (removed once the final model is saved)
        model.pt         the trained network's state_dict
        metrics.json     {metric: {name: value}}
        artifacts/       arrays returned by metrics (<metric>.<name>.npy)

A write goes to a temp file in the same folder and is renamed into place, so a crash at any
moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchbench.arch import VAENet, build_net
from benchbench.cells import Cell
from benchbench.registry import BenchbenchError

STATUSES = ("pending", "running", "trained", "done", "failed", "diverged")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


class CellStore:
    """One cell's folder."""

    def __init__(self, path: Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    log_path = property(lambda self: self.path / "train_log.csv")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    model_path = property(lambda self: self.path / "model.pt")
    metrics_path = property(lambda self: self.path / "metrics.json")

    def cell(self) -> Cell:
        return Cell.from_config(read_json(self.config_path))

    def status(self) -> dict[str, Any]:
        return read_json(self.status_path, {"status": "pending"})

    def set_status(self, status: str, **extra: Any) -> None:
        assert status in STATUSES, status
        atomic_write_json(self.status_path, {"status": status, **extra})

    def write_log(self, rows: list[dict[str, float]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        lines = [",".join(columns)] + [",".join(repr(float(r[c])) for c in columns) for r in rows]
        atomic_write_bytes(self.log_path, ("\n".join(lines) + "\n").encode())

    def read_log(self) -> list[dict[str, float]]:
        if not self.log_path.exists():
            return []
        header, *lines = self.log_path.read_text().splitlines()
        columns = header.split(",")
        return [dict(zip(columns, map(float, line.split(",")))) for line in lines]

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_torch_save(self.checkpoint_path, state)

    def load_checkpoint(self) -> dict[str, Any] | None:
        if not self.checkpoint_path.exists():
            return None
        return torch.load(self.checkpoint_path, weights_only=True, map_location="cpu")

    def save_model(self, state_dict: dict[str, torch.Tensor]) -> None:
        atomic_torch_save(self.model_path, state_dict)
        self.checkpoint_path.unlink(missing_ok=True)

    def load_model(self) -> dict[str, torch.Tensor]:
        return torch.load(self.model_path, weights_only=True, map_location="cpu")

    def load_net(self, image_shape: tuple[int, int, int]) -> VAENet:
        """The trained network, on the CPU."""
        cell = self.cell()
        net = build_net(cell.arch, image_shape, cell.latent_dim)
        net.load_state_dict(self.load_model())
        return net

    def write_metrics(self, results: dict[str, dict[str, float]], artifacts: dict[str, np.ndarray]) -> None:
        for name, array in artifacts.items():
            buffer = io.BytesIO()
            np.save(buffer, array)
            atomic_write_bytes(self.path / "artifacts" / f"{name}.npy", buffer.getvalue())
        atomic_write_json(self.metrics_path, results)

    def metrics(self) -> dict[str, dict[str, float]]:
        return read_json(self.metrics_path, {})


class RunStore:
    """A run's folder: its manifest and its cells."""

    def __init__(self, path: Path):
        self.path = Path(path)

    manifest_path = property(lambda self: self.path / "manifest.json")

    def cell_store(self, cell_id: str) -> CellStore:
        return CellStore(self.path / "cells" / cell_id)

    def add_cell(self, cell: Cell) -> CellStore:
        store = self.cell_store(cell.id)
        if not store.config_path.exists():
            atomic_write_json(store.config_path, cell.config())
        return store

    def cell_stores(self) -> list[CellStore]:
        cells_dir = self.path / "cells"
        if not cells_dir.is_dir():
            return []
        return [CellStore(p) for p in sorted(cells_dir.iterdir()) if (p / "config.json").exists()]

    def trained_cell(self, cell_id: str | None = None) -> CellStore:
        """The cell ``cell_id``, or the first with a trained model."""
        for store in self.cell_stores():
            if store.model_path.exists() and cell_id in (None, store.path.name):
                return store
        raise BenchbenchError(f"{self.path}: no trained model" + (f" for cell {cell_id}" if cell_id else ""))

    def manifest(self) -> dict[str, Any]:
        return read_json(self.manifest_path, {})

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.manifest_path, manifest)

    def status_counts(self) -> tuple[dict[str, int], list[tuple[str, dict[str, Any]]]]:
        """Counts per status, and ``(cell label, status)`` for failed/diverged cells."""
        counts = dict.fromkeys(STATUSES, 0)
        failures = []
        for store in self.cell_stores():
            status = store.status()
            counts[status["status"]] += 1
            if status["status"] in ("failed", "diverged"):
                failures.append((store.cell().label, status))
        return counts, failures


def results_table(run: RunStore):
    """One row per cell: dataset, method, hyperparameters, seed, status and every scalar metric
    (columns ``metric.value``)."""
    import pandas as pd

    rows = []
    for store in run.cell_stores():
        cell = store.cell()
        row = {"cell": cell.id, "dataset": cell.dataset, "method": cell.method}
        row.update({f"hp.{k}": v for k, v in cell.hyperparameters.items()})
        row.update(seed=cell.seed, status=store.status()["status"])
        for metric, values in store.metrics().items():
            row.update({f"{metric}.{k}": v for k, v in values.items() if k != "seconds"})
        rows.append(row)
    table = pd.DataFrame(rows)
    hp = sorted(c for c in table.columns if c.startswith("hp."))
    front = ["cell", "dataset", "method", *hp, "seed", "status"]
    return table[[c for c in front if c in table] + [c for c in table if c not in front]]
