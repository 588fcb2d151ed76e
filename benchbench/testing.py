"""Checks a plugin must pass before it meets a multi-hour grid, as scikit-learn's
``check_estimator`` checks an estimator: ``benchbench check PLUGIN`` runs them, and a plugin's
own tests call :func:`check_method`, :func:`check_metric` or :func:`check_dataset`.

Each check is one :class:`Check` — its name, whether it passed, and a line saying what it found
— run on a tiny ground-truth dataset (:class:`TinyFactors`: the images are the factor values, so
a dataset's worth of work takes milliseconds) through the same code a grid runs: a method is
trained packed by the pack trainer, a metric is called as the evaluation driver calls it.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchbench.core.registry import BenchbenchError, datasets, load_plugin, methods, metrics, one_line
from benchbench.planning.cells import Cell
from benchbench.plugin.data import Dataset, GroundTruthDataset, Uint8Images
from benchbench.plugin.metric import MetricNotApplicable, declaration
from benchbench.plugin.representation import ModelView
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.trainer import PackTrainer, TrainSettings


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``passed`` is ``None`` when it could not apply (said in ``found``)."""

    name: str
    passed: bool | None
    found: str

    def line(self) -> str:
        word = {True: "ok", False: "FAILED", None: "skipped"}[self.passed]
        return f"{word:<8} {self.name}: {self.found}"


class TinyFactors(GroundTruthDataset):
    """Four factors of 3–6 values; each image is the factor values scaled to [0, 1], ``(1, 1, 4)``."""

    name = "tiny_factors"
    factor_names = ("a", "b", "c", "d")
    factor_sizes = (4, 5, 6, 3)
    image_shape = (1, 1, 4)

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        factors = self.index_to_factors(np.asarray(indices))
        return (factors / (np.array(self.factor_sizes) - 1)).astype(np.float32)[:, None, None, :]

    def image_store(self, device: torch.device) -> Uint8Images:
        pixels = np.rint(self.images_at(np.arange(len(self))) * 255).astype(np.uint8)
        return Uint8Images(pixels, device)


class _Mixed(torch.nn.Module):
    """A fixed encoder of :class:`TinyFactors` images — the factors mixed a little, with a
    posterior — and its inverse as the decoder, so reconstruction metrics run too."""

    latent_dim = 4
    has_posterior = True

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.register_buffer("weights", torch.eye(4) + 0.1 * torch.randn(4, 4, generator=generator))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = x.flatten(1) @ self.weights
        return mu, torch.full_like(mu, -4.0)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        return torch.linalg.solve(self.weights.T, z.T).T.clamp(0, 1).reshape(-1, *TinyFactors.image_shape)


class Skipped(Exception):
    """A check that does not apply to this plugin (said in its line)."""


def _run(name: str, body: Callable[[], str]) -> Check:
    """``body()`` as a check: its line if it returns, ``FAILED`` with the reason if it raises."""
    try:
        return Check(name, True, body())
    except Skipped as exc:
        return Check(name, None, str(exc))
    except MetricNotApplicable as exc:
        return Check(name, None, f"not applicable to the tiny dataset: {exc}")
    except AssertionError as exc:  # what the check found wrong, in its words
        return Check(name, False, str(exc))
    except Exception as exc:  # a plugin's bug is the finding, never a traceback
        return Check(name, False, one_line(exc))


# --------------------------------------------------------------------------- methods
def check_method(name: str, steps: int = 4) -> list[Check]:
    """A method's hyperparameters and its terms, trained packed: two seeds of its defaults on
    :class:`TinyFactors` with the ``mlp`` network for ``steps`` steps, every logged term finite,
    the same bits twice, and the same bits when the pack is checkpointed halfway and resumed."""
    method = methods.get(name)()

    def defaults() -> str:
        hp = method.resolve({})
        return "defaults resolve: " + (", ".join(f"{k}={v}" for k, v in hp.items()) or "none")

    def bounds() -> str:
        _refuses_outside(method.bounds, method.resolve)
        return f"{len(method.bounds)} bounded hyperparameters refuse values outside their range"

    with tempfile.TemporaryDirectory(prefix="benchbench-check-") as folder:
        root = Path(folder)
        straight: list[dict[str, torch.Tensor]] = []

        def packed() -> str:
            states, logs = _train(name, root / "first", steps)
            bad = [(row["step"], k) for log in logs for row in log for k, v in row.items() if not math.isfinite(v)]
            if bad:
                raise AssertionError(f"term {bad[0][1]} is not finite at step {bad[0][0]:g}")
            straight.extend(states)
            terms = sorted(k for k in logs[0][0] if k != "step") if logs and logs[0] else []
            return f"2 models trained {steps} steps in one pack; terms {', '.join(terms)} finite"

        def deterministic() -> str:
            again, _ = _train(name, root / "again", steps)
            _same(straight, again, "a second training")
            return "the same command trains the same bits"

        def resumes() -> str:
            resumed, _ = _train(name, root / "resumed", steps, interrupt_at=steps // 2)
            _same(straight, resumed, f"training checkpointed at step {steps // 2} and resumed")
            return f"checkpointed at step {steps // 2} and resumed: the same bits as straight through"

        out = [_run("hyperparameters", defaults), _run("bounds", bounds), _run("trains packed", packed)]
        if out[-1].passed:
            out += [_run("deterministic", deterministic), _run("checkpoint round trip", resumes)]
    return out


def _refuses_outside(bounds: dict[str, tuple[float, float]], resolve: Callable[[dict[str, Any]], Any]) -> None:
    """Each bounded value just outside its range (one below, one above, where finite) refused by ``resolve``."""
    for key, (low, high) in bounds.items():
        for outside in (low - 1, high + 1):
            if not math.isfinite(outside):
                continue
            try:
                resolve({key: outside})
            except BenchbenchError:
                continue
            raise AssertionError(f"{key} = {outside} is outside its bounds ({low}, {high}) but accepted")


def _cells(name: str, steps: int) -> list[Cell]:
    hp = methods.get(name)().resolve({})
    return [Cell(TinyFactors.name, name, hp, seed, "mlp", 4, steps, 16, 1e-3) for seed in (0, 1)]


def _train(name: str, folder: Path, steps: int, interrupt_at: int | None = None):
    """The pack's final weights and its models' curves, trained in ``folder`` (with
    ``interrupt_at``: up to that step and checkpointed, then by a new trainer from the checkpoint)."""
    cells, dataset = _cells(name, steps), TinyFactors()
    stores = [CellStore(folder / "cells" / c.id) for c in cells]
    pack = PackStore(folder / "packs" / "pack")
    settings = TrainSettings(checkpoint_every=interrupt_at or steps, log_every=1, progress=False, compile="off")

    def trainer() -> PackTrainer:
        return PackTrainer(cells, stores, dataset, torch.device("cpu"), settings, pack)

    if interrupt_at:
        trainer().advance(interrupt_at)
        if not pack.checkpoint_path.exists():
            raise AssertionError(f"no checkpoint was written at step {interrupt_at}")
    finished = trainer().train()
    return [state for _, _, state in finished], [store.read_log() for store in stores]


def _same(a: list[dict[str, torch.Tensor]], b: list[dict[str, torch.Tensor]], what: str) -> None:
    for i, (x, y) in enumerate(zip(a, b)):
        differ = [k for k in x if not torch.equal(x[k], y[k])]
        if differ:
            raise AssertionError(f"{what} gives other weights for model {i}: {', '.join(differ[:3])}")


# --------------------------------------------------------------------------- metrics
def check_metric(name: str, options: dict[str, Any] | None = None, seed: int = 0) -> list[Check]:
    """A metric's declaration (directions for its headline outputs, option bounds) and a run on
    :class:`TinyFactors` (its ``fast`` preset, if it has one, with ``options`` on top): every
    declared output in the result (or, for one the preset does not give, in the result at the
    defaults), the same result twice from the same generator."""
    metric = declaration(name)
    results: list[dict[str, Any]] = []

    def directions() -> str:
        if not metric.better:
            raise AssertionError("no output declares which way is better (@better): a report cannot rank by it")
        return ", ".join(f"{k} {'↑' if v == 'higher' else '↓'}" for k, v in metric.better.items())

    def option_bounds() -> str:
        bounded = {k: o.bounds for k, o in metric.options.items() if o.bounds is not None}
        _refuses_outside(bounded, metric.resolve)
        return f"{len(bounded)} bounded options refuse values outside their range; presets {sorted(metric.profiles)}"

    def runs() -> str:
        t0 = time.perf_counter()
        results.append(run_on_tiny(name, options, seed))
        seconds = time.perf_counter() - t0
        missing = [k for k in metric.better if k not in results[0]]
        if missing and metric.profiles:  # a preset may drop what some outputs need (a size): the defaults may not
            missing = [k for k in missing if k not in run_on_tiny(name, options, seed, profile=None)]
        if missing:
            raise AssertionError(f"declared outputs missing from its result: {', '.join(missing)}")
        outputs = ", ".join(f"{k}={_short(v)}" for k, v in results[0].items() if np.ndim(v) == 0)
        return f"ran in {seconds:.2f} s on {len(TinyFactors())} tiny images: {outputs}"

    def deterministic() -> str:
        again = run_on_tiny(name, options, seed)
        differ = [k for k in results[0] if not np.array_equal(np.asarray(results[0][k]), np.asarray(again[k]))]
        if differ or set(again) != set(results[0]):
            raise AssertionError(f"the same generator gave other values: {', '.join(differ) or 'other outputs'}")
        return "the same generator gives the same values"

    out = [_run("directions", directions), _run("option bounds", option_bounds), _run("runs", runs)]
    if out[-1].passed:
        out.append(_run("deterministic", deterministic))
    return out


def run_on_tiny(name: str, options: dict[str, Any] | None, seed: int, profile: str | None = "fast") -> dict[str, Any]:
    """The metric on :class:`TinyFactors` as the evaluation driver calls it (two models for one
    across seeds), from its ``profile`` preset if it has one (``None``: its defaults)."""
    metric = declaration(name)
    spec = metric.evaluation(options or {}, profile=profile if profile in metric.profiles else None)
    dataset, rng = TinyFactors(), np.random.default_rng(seed)
    view = ModelView(_Mixed(), torch.device("cpu"))
    if metric.across_seeds:
        results = metric(dataset, [view, ModelView(_Mixed(), torch.device("cpu"))], rng, **spec.options)
        return dict(results[0])
    return dict(metric(dataset, view, rng, **spec.options))


def _short(value) -> str:
    return f"{float(value):.4g}"


# --------------------------------------------------------------------------- datasets
def check_dataset(name: str, sample: int = 64) -> list[Check]:
    """A dataset's images (``sample`` of them: float32 in [0, 1] of its ``image_shape``), its
    split (disjoint, covering every index) and, with factors, index ↔ factors both ways."""
    opened: list[Dataset] = []

    def opens() -> str:
        opened.append(datasets.get(name)())
        return f"{len(opened[0]):,} images of shape {tuple(opened[0].image_shape)}"

    def chosen(data: Dataset) -> np.ndarray:
        return np.random.default_rng(0).choice(len(data), min(sample, len(data)), replace=False)

    def images() -> str:
        data = opened[0]
        indices, rng = chosen(data), np.random.default_rng(0)
        x = np.asarray(data.observations(indices, rng) if data.stochastic else data.images_at(indices))
        if x.shape != (indices.size, *data.image_shape):
            raise AssertionError(f"images of shape {x.shape}, expected {(indices.size, *data.image_shape)}")
        if x.dtype != np.float32 or not (x.min() >= 0 and x.max() <= 1):
            raise AssertionError(f"images must be float32 in [0, 1]; got {x.dtype} in [{x.min()}, {x.max()}]")
        return f"{indices.size} images float32 in [{x.min():.3g}, {x.max():.3g}]"

    def split() -> str:
        data = opened[0]
        train, test = data.train_indices, data.test_indices
        if np.intersect1d(train, test).size or np.union1d(train, test).size != len(data):
            raise AssertionError("train and test indices must be disjoint and cover every image")
        return f"{train.size:,} train and {test.size:,} test images, disjoint"

    def round_trip() -> str:
        data = opened[0]
        if not isinstance(data, GroundTruthDataset):
            raise Skipped("a labelled dataset has no factors")
        indices = chosen(data)
        back = data.factors_to_index(data.index_to_factors(indices))
        if not np.array_equal(back, indices):
            raise AssertionError("factors_to_index(index_to_factors(i)) != i")
        return f"{len(data.factor_names)} factors ({', '.join(data.factor_names)}): index ↔ factors both ways"

    out = [_run("opens", opens)]
    if out[0].passed:
        out += [_run("images", images), _run("split", split), _run("index ↔ factors", round_trip)]
    return out


KINDS = {"method": (methods, check_method), "metric": (metrics, check_metric), "dataset": (datasets, check_dataset)}


def registered_by(source: str) -> list[str]:
    """The methods, metrics and datasets a plugin file (``.py``) or module registers when loaded."""
    before = {kind: set(registry.names()) for kind, (registry, _) in KINDS.items()}
    load_plugin(source)
    added = [n for kind, (registry, _) in KINDS.items() for n in registry.names() if n not in before[kind]]
    if not added:
        raise BenchbenchError(f"{source} registers no method, metric or dataset")
    return added


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered method, metric or dataset (else it may name a plugin module)."""
    return any(name in registry for registry, _ in KINDS.values())


def check_plugin(name: str) -> list[Check]:
    """Every check of the plugin registered as ``name`` (a method, metric or dataset)."""
    found = [kind for kind, (registry, _) in KINDS.items() if name in registry]
    if not found:
        known = ", ".join(n for registry, _ in KINDS.values() for n in registry.names())
        raise BenchbenchError(f"no method, metric or dataset is registered as {name!r} (known: {known})")
    return [c for kind in found for c in KINDS[kind][1](name)]
