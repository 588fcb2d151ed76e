"""The evaluation driver and the metric plugin API.

A metric is a function registered with ``@metrics.register("name")``::

    def my_metric(dataset, model, rng, *, option=default, ...) -> dict[str, float | np.ndarray]

``dataset`` is a :class:`benchbench.data.GroundTruthDataset` (factors) or a
:class:`benchbench.data.LabelledDataset` (labels; metrics that need factors raise
:class:`MetricNotApplicable`),
``model`` is a :class:`ModelView` (anything with ``encode(images) → μ`` and, for
reconstruction metrics, ``reconstruct(images) → decoder mean``), ``rng`` a
``numpy.random.Generator``.  Options are keyword-only, so grids can be checked against them.
Float values go to ``metrics.json``; array values are saved as artifacts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from benchbench.arch import VAENet, decoder_mean
from benchbench.cells import Cell
from benchbench.data import Dataset
from benchbench.registry import BenchbenchError, datasets, metrics
from benchbench.store import CellStore, RunStore
from benchbench.trainer import derived_seed, tune_cpu_allocator


class MetricNotApplicable(BenchbenchError):
    """Raised by a metric that does not apply to a dataset (e.g. attribute accuracy without
    binary labels); the evaluator skips it."""


def profiles(**named: dict[str, Any]):
    """Attach named option presets to a metric: ``@profiles(fast={"num_train": 500})``.

    A grid's ``metric_profile = "fast"`` starts every metric from its preset of that name."""

    def attach(fn):
        fn.profiles = named
        return fn

    return attach


class ModelView:
    """What a metric sees of a trained model: images in (numpy or tensor ``(n, C, H, W)`` in
    [0, 1]), numpy out, computed in batches on the model's device.

    :meth:`encode_indices` caches ``μ`` per dataset image, so however many metrics ask for an
    image, it is encoded once (``images_encoded`` counts the encoder's work).
    """

    def __init__(self, net: VAENet, device: torch.device, batch_size: int = 1024):
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        if self.device.type == "cpu":
            tune_cpu_allocator()
        self.batch_size = batch_size
        self.images_encoded = 0
        self._cache: dict[int, tuple[object, np.ndarray, np.ndarray]] = {}

    @torch.no_grad()
    def _map(self, images, fn) -> np.ndarray:
        images = torch.as_tensor(images)
        out = [
            fn(images[i : i + self.batch_size].to(self.device, torch.float32)).cpu()
            for i in range(0, images.shape[0], self.batch_size)
        ]
        return torch.cat(out).numpy() if out else np.empty((0,))

    def encode(self, images) -> np.ndarray:
        """Posterior means ``μ(x)``, shape ``(n, latent_dim)``."""
        return self._map(images, lambda x: self.net.encode(x)[0])

    @torch.no_grad()
    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        """``μ`` of the dataset images at ``indices``, encoding only those not seen before."""
        key = id(dataset)
        if key not in self._cache:
            n, d = len(dataset), self.net.latent_dim
            self._cache[key] = (dataset.image_store(self.device), np.zeros((n, d), np.float32), np.zeros(n, bool))
        store, codes, done = self._cache[key]
        indices = np.asarray(indices, dtype=np.int64)
        todo = np.unique(indices[~done[indices]])
        for i in range(0, todo.size, self.batch_size):
            chunk = todo[i : i + self.batch_size]
            images = store.batch(torch.as_tensor(chunk, device=self.device))
            codes[chunk] = self.net.encode(images)[0].float().cpu().numpy()
        done[todo] = True
        self.images_encoded += todo.size
        return codes[indices]

    def reconstruct(self, images) -> np.ndarray:
        """Decoder mean at ``z = μ(x)``: ``sigmoid(logits)``, the images' shape."""
        return self._map(images, lambda x: decoder_mean(self.net.decode(self.net.encode(x)[0])))


def split_result(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Separate a metric's floats from its array artifacts."""
    scalars, arrays = {}, {}
    for key, value in result.items():
        if isinstance(value, np.ndarray) and value.ndim > 0:
            arrays[key] = value
        else:
            scalars[key] = float(value)
    return scalars, arrays


def evaluate_model(
    cell: Cell, net: VAENet, dataset: Dataset, device: torch.device, progress: bool = False
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Run every metric the cell asks for; returns ``({metric: scalars}, {artifact: array})``."""
    view = ModelView(net, device)
    results, artifacts = {}, {}
    bar = tqdm(cell.metrics.items(), desc=f"metrics {cell.label}", unit="metric", leave=False, disable=not progress)
    for name, options in bar:
        bar.set_postfix_str(name)
        rng = np.random.default_rng(derived_seed(cell.seed, f"metric:{name}"))
        t0 = time.perf_counter()
        try:
            scalars, arrays = split_result(metrics.get(name)(dataset, view, rng, **options))
        except MetricNotApplicable:
            continue
        scalars["seconds"] = round(time.perf_counter() - t0, 3)
        results[name] = scalars
        artifacts.update({f"{name}.{key}": value for key, value in arrays.items()})
    return results, artifacts


def open_trained(run: str | Path, cell_id: str | None, device: torch.device) -> tuple[CellStore, Dataset, ModelView]:
    """A finished run's model (``cell_id``, or the first trained one) ready for metrics outside
    the run: its store, its dataset, and a :class:`ModelView` on ``device``."""
    store = RunStore(run).trained_cell(cell_id)
    dataset = datasets.get(store.cell().dataset)()
    return store, dataset, ModelView(store.load_net(dataset.image_shape), device)
