"""Throughput benchmark: model-steps per second of the pack trainer for several pack sizes,
against the per-cell loop other harnesses run.

A pack of M models trained for N steps does M·N model-steps; a pack of 1 is "one model at a
time".  The baseline (:func:`naive_loop`) is what a peer harness does for one cell: a
``DataLoader`` over the dataset (one image per ``__getitem__``, default collation), the same
network as an ``nn.Module``, ``torch.optim.Adam``, the same method's loss, batch and device.
Warm-up steps (allocations, kernel selection) are excluded from every timing.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from benchbench.core.arch import build_net, kl_to_standard_normal, reconstruction_nll
from benchbench.core.progress import log
from benchbench.core.registry import datasets, methods
from benchbench.planning.cells import Cell
from benchbench.plugin.method import Inputs
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.runner import resolve_devices
from benchbench.training.trainer import PackTrainer, TrainSettings, set_gradients


def trainer_step(mode: str) -> str:
    return "compiled" if mode == "on" else "eager"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Images(torch.utils.data.Dataset):
    """The training split, one image per item, as a map-style dataset."""

    def __init__(self, data):
        self.data, self.indices = data, data.train_indices
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return self.indices.size

    def __getitem__(self, i: int) -> torch.Tensor:
        index = self.indices[i : i + 1]
        images = self.data.observations(index, self.rng) if self.data.stochastic else self.data.images_at(index)
        return torch.from_numpy(images[0])


def naive_loop(
    data, method_name: str, arch: str, latent_dim: int, batch_size: int, steps: int, warmup: int, dev
) -> float:
    """Model-steps/s of one cell trained the usual way (see the module's docstring)."""
    method = methods.get(method_name)()
    hp_all = method.resolve({})
    static = method.static_part(hp_all)
    hp = {k: torch.tensor(v, device=dev) for k, v in method.numeric_part(hp_all).items()}
    net = build_net(arch, data.image_shape, latent_dim).to(dev)
    specs = method.auxiliaries(static, latent_dim)
    aux = {n: a.build(latent_dim).to(dev) for n, a in specs.items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    aux_optimizers = [
        torch.optim.Adam(aux[n].parameters(), lr=a.lr, betas=a.betas, eps=a.eps) for n, a in specs.items()
    ]
    own = [p for m in aux.values() for p in m.parameters()]
    state = {k: v.to(dev) for k, v in method.init_state(static, latent_dim).items()}
    generator = torch.Generator(device=dev).manual_seed(0)
    loader = DataLoader(_Images(data), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    t0 = None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(dev)
            t0 = time.perf_counter()
        x = next(batches).to(dev)
        eps = torch.randn(batch_size, latent_dim, device=dev, generator=generator)
        mu, logvar, z, logits = net(x, eps)
        recon = reconstruction_nll(data.likelihood, logits, x).mean()
        inputs = Inputs(
            kl_to_standard_normal(mu, logvar),
            mu,
            logvar,
            z,
            torch.tensor(float(step), device=dev),
            aux,
            method.draws(static, batch_size, latent_dim, generator),
        )
        terms, state = method.terms(static, hp, inputs, state)
        state = {k: v.detach() for k, v in state.items()}
        optimizer.zero_grad()
        for opt in aux_optimizers:
            opt.zero_grad()
        loss = recon + terms["regularizer"]
        set_gradients(loss, terms.get("auxiliary", loss), list(net.parameters()), own)
        optimizer.step()
        for opt in aux_optimizers:
            opt.step()
    _sync(dev)
    return steps / (time.perf_counter() - t0)


def bench(pack_sizes: list[int], threads: list[int | None] = (None,), **options) -> list[dict[str, float]]:
    """One row per CPU thread count (``None``: torch's default), step (``off``: eager, ``on``:
    compiled, timed after its warm-up compiled it), precision and pack size, after each thread
    count's naive loop (fp32, eager: what a peer harness runs); ratios compare rows of the same
    thread count; ``options`` as :func:`_bench_at` takes them.  Torch's thread count is put back
    afterwards."""
    before, rows = torch.get_num_threads(), []
    try:
        for count in threads:
            torch.set_num_threads(count or before)
            found = _bench_at(pack_sizes, **options)
            rows += [{"threads": torch.get_num_threads(), **row} for row in found]
    finally:
        torch.set_num_threads(before)
    return rows


def _bench_at(
    pack_sizes: list[int],
    steps: int = 20,
    warmup: int = 5,
    device: str = "auto",
    dataset: str = "shapes2d",
    method: str = "dip_vae",
    arch: str = "conv",
    latent_dim: int = 10,
    batch_size: int = 64,
    compile_modes: list[str] = ("off",),
    precisions: list[str] = ("fp32",),
) -> list[dict[str, float]]:
    """:func:`bench` on the threads torch has now: ``steps`` timed after ``warmup`` untimed ones,
    each pack of ``method`` models on ``dataset`` (``arch``, ``latent_dim``, ``batch_size``), for
    every step in ``compile_modes`` and precision in ``precisions``."""
    dev = resolve_devices(device)[0]
    data = datasets.get(dataset)()
    hp = methods.get(method)().resolve({})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, precision, size in itertools.product(compile_modes, precisions, pack_sizes):
            cells = [
                Cell(dataset, method, hp, seed, arch, latent_dim, warmup + steps, batch_size, 1e-4, precision)
                for seed in range(size)
            ]
            stores = [CellStore(Path(tmp) / f"{mode}-{size}-{c.id}") for c in cells]
            settings = TrainSettings(10**9, warmup + steps, False, mode)
            pack = PackStore(Path(tmp) / f"pack-{mode}-{precision}-{size}")
            trainer = PackTrainer(cells, stores, data, dev, settings, pack)
            t0 = time.perf_counter()
            trainer.advance(warmup)
            _sync(dev)
            warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            trainer.advance(warmup + steps)
            _sync(dev)
            elapsed = time.perf_counter() - t0
            what = f"{torch.get_num_threads()} threads, pack of {size}, {precision}, {trainer_step(mode)}"
            log.info(f"bench: {what}: {size * steps / elapsed:.3g} model-steps/s")
            rows.append(
                {
                    "step": trainer_step(mode),
                    "precision": precision,
                    "pack_size": size,
                    "warmup_s": warm,
                    "seconds": elapsed,
                    "model_steps_per_s": size * steps / elapsed,
                }
            )
    naive = naive_loop(data, method, arch, latent_dim, batch_size, steps, warmup, dev)
    log.info(f"bench: {torch.get_num_threads()} threads, the naive per-cell loop: {naive:.3g} model-steps/s")
    ones = (r for r in rows if (r["pack_size"], r["step"], r["precision"]) == (1, "eager", "fp32"))
    base = next((r["model_steps_per_s"] for r in ones), None)
    for row in rows:
        row["vs_one_at_a_time"] = row["model_steps_per_s"] / base if base else float("nan")
        row["vs_naive_loop"] = row["model_steps_per_s"] / naive
    naive_row = {
        "step": "eager",
        "precision": "fp32",
        "pack_size": 1,
        "warmup_s": float("nan"),
        "seconds": steps / naive,
    }
    vs_one = naive / base if base else float("nan")
    naive_row.update(model_steps_per_s=naive, vs_one_at_a_time=vs_one, vs_naive_loop=1.0)
    return [{"trainer": "naive", **naive_row}, *({"trainer": "pack", **r} for r in rows)]
