"""Throughput benchmark: model-steps per second of the pack trainer for several pack sizes.

A pack of M models trained for N steps does M·N model-steps; a pack of 1 is "one model at a
time".  Warm-up steps (allocations, kernel selection) are excluded from the timing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from benchbench.cells import Cell
from benchbench.registry import datasets, methods
from benchbench.runner import resolve_devices
from benchbench.store import CellStore, PackStore
from benchbench.trainer import PackTrainer, TrainSettings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(
    pack_sizes: list[int],
    steps: int = 20,
    warmup: int = 5,
    device: str = "auto",
    dataset: str = "shapes2d",
    method: str = "dip_vae",
    arch: str = "conv",
    latent_dim: int = 10,
    batch_size: int = 64,
) -> list[dict[str, float]]:
    dev = resolve_devices(device)[0]
    data = datasets.get(dataset)()
    hp = methods.get(method)().resolve({})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in pack_sizes:
            cells = [
                Cell(dataset, method, hp, seed, arch, latent_dim, warmup + steps, batch_size, 1e-4)
                for seed in range(size)
            ]
            stores = [CellStore(Path(tmp) / f"{size}-{c.id}") for c in cells]
            settings = TrainSettings(checkpoint_every=10**9, log_every=warmup + steps, progress=False)
            trainer = PackTrainer(cells, stores, data, dev, settings, PackStore(Path(tmp) / f"pack-{size}"))
            trainer.advance(warmup)
            _sync(dev)
            t0 = time.perf_counter()
            trainer.advance(warmup + steps)
            _sync(dev)
            elapsed = time.perf_counter() - t0
            rows.append({"pack_size": size, "seconds": elapsed, "model_steps_per_s": size * steps / elapsed})
    base = next((r["model_steps_per_s"] for r in rows if r["pack_size"] == 1), None)
    for row in rows:
        row["speedup_vs_one_at_a_time"] = row["model_steps_per_s"] / base if base else float("nan")
    return rows
