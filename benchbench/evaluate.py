"""The evaluation driver and the metric plugin API.

A metric is a function registered with ``@metrics.register("name")``::

    def my_metric(dataset, model, rng, *, option=default, ...) -> dict[str, float | np.ndarray]

``dataset`` is a :class:`benchbench.data.GroundTruthDataset` (factors) or a
:class:`benchbench.data.LabelledDataset` (labels; metrics that need factors raise
:class:`MetricNotApplicable`),
``model`` is a :class:`ModelView` (anything with ``encode(images) → μ`` and, for
reconstruction metrics, ``reconstruct(images) → decoder mean``), ``rng`` a
``numpy.random.Generator``.  Options are keyword-only and annotated, so grids and ``--option``
are checked against them before anything runs.

An *evaluation* is one metric with its fully resolved options (:class:`EvalSpec`: every option
written out, defaults filled in), keyed by a hash of both.  It is a record attached to a trained
model — values, artifacts, seconds, versions, git commit, device — so a model is trained once
and evaluated as many ways as wanted, and "the defaults" and "the defaults written out" are the
same evaluation.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import time
import traceback
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from benchbench.arch import VAENet, decoder_mean
from benchbench.cells import canonical_json
from benchbench.data import Dataset
from benchbench.provenance import device_name, git_commit, now, versions
from benchbench.registry import BenchbenchError, datasets, metrics, one_line
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


def better(**directions: Literal["higher", "lower"]):
    """Declare which way each headline output is better: ``@better(mse="lower")``.

    The report ranks and selects by these (``--select-by``) and plots them in its overview;
    outputs not named are still stored and tabulated, never used to pick a row."""
    wrong = {k: v for k, v in directions.items() if v not in ("higher", "lower")}
    if wrong:
        raise ValueError(f"better: {', '.join(wrong)} must be 'higher' or 'lower'")

    def attach(fn):
        fn.better = dict(directions)
        return fn

    return attach


def direction(metric: str, output: str) -> str | None:
    """``"higher"`` or ``"lower"`` as the registered metric declares for ``output``; ``None``
    when it declares nothing (or the metric is not registered)."""
    if metric not in metrics:
        return None
    return getattr(metrics.get(metric), "better", {}).get(output)


def option_parameters(name: str) -> dict[str, inspect.Parameter]:
    """A metric's options: its keyword-only parameters."""
    params = inspect.signature(metrics.get(name)).parameters
    return {p: v for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}


def _hint_text(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"a list of {_hint_text(args[0]).removeprefix('a ').removeprefix('an ')}s" if args else "a list"
    if args and origin is not None:  # a union
        return " or ".join(_hint_text(a) for a in args)
    names = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false", type(None): "none"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _conforms(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value) if args else True
    if args and origin is not None:  # X | Y
        return any(_conforms(value, a) for a in args)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def resolve_options(name: str, options: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """Every option of metric ``name``: ``options`` checked against the metric's signature
    (names, and types where annotated), the rest filled with their defaults.  A problem is a
    :class:`BenchbenchError` naming ``where.option``."""
    where = where or name
    params = option_parameters(name)
    for key in options:
        if key not in params:
            raise BenchbenchError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(params))})")
    hints = typing.get_type_hints(metrics.get(name))
    resolved = {}
    for key, param in params.items():
        if key not in options:
            if param.default is inspect.Parameter.empty:
                raise BenchbenchError(f"{where}.{key}: required")
            resolved[key] = param.default
            continue
        value = options[key]
        hint = hints.get(key, Any if param.default in (None, inspect.Parameter.empty) else type(param.default))
        if not _conforms(value, hint):
            raise BenchbenchError(f"{where}.{key}: must be {_hint_text(hint)}, got {value!r}")
        resolved[key] = value
    return resolved


def profile_options(name: str, profile: str | None) -> dict[str, Any]:
    """Metric ``name``'s preset ``profile`` (``None`` or ``"default"``: no preset)."""
    return getattr(metrics.get(name), "profiles", {}).get(profile, {}) if profile else {}


def check_profile(profile: str | None, names) -> None:
    """A profile must be ``default`` or a preset of at least one of the metrics ``names``."""
    known = {"default", *(p for n in names for p in getattr(metrics.get(n), "profiles", {}))}
    if profile is not None and profile not in known:
        raise BenchbenchError(f"unknown metric profile {profile!r} (known: {', '.join(sorted(known))})")


@dataclass(frozen=True)
class EvalSpec:
    """One evaluation: a metric and its fully resolved options (see :func:`resolve_options`)."""

    metric: str
    options: dict[str, Any]

    @classmethod
    def of(cls, metric: str, options: dict[str, Any] | None = None, where: str | None = None) -> EvalSpec:
        return cls(metric, resolve_options(metric, options or {}, where))

    @property
    def key(self) -> str:
        """Hash of the metric's name and resolved options: the evaluation's folder name."""
        text = canonical_json({"metric": self.metric, "options": self.options})
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "key": self.key, "options": self.options}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> EvalSpec:
        return cls(obj["metric"], obj["options"])


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


def missing(store: CellStore, specs: list[EvalSpec], retry_failed: bool = False) -> list[EvalSpec]:
    """The evaluations of ``specs`` the cell has no record of (or a failed one, with ``retry_failed``)."""
    out = []
    for spec in specs:
        record = store.evaluation(spec.metric, spec.key)
        if record is None or (retry_failed and record["status"] == "failed"):
            out.append(spec)
    return out


def evaluate_cell(
    store: CellStore, dataset: Dataset, device: torch.device, todo: list[EvalSpec], bar: tqdm | None = None
) -> None:
    """Compute the evaluations ``todo`` of the cell (see :func:`missing`) and write each as a record.

    Each record is written the moment its metric finishes, so a killed evaluation loses only
    the metric in progress.  A metric that raises gets a ``failed`` record (one-line reason,
    traceback kept) and the others go on; one that does not apply to the dataset gets a
    ``not_applicable`` record."""
    if not todo:
        return
    cell = store.cell()
    base = {"cell": cell.id, "device": device_name(device), "versions": versions(), "git_commit": git_commit()}
    try:
        view = ModelView(store.load_net(dataset.image_shape), device)
    except Exception as exc:
        for spec in todo:
            error = f"model could not be loaded: {one_line(exc)}"
            store.write_evaluation({**spec.to_json(), **base, "status": "failed", "error": error}, {})
        return
    for spec in todo:
        if bar is not None:
            bar.set_postfix_str(f"{cell.label} {spec.metric}")
        rng = np.random.default_rng(derived_seed(cell.seed, f"metric:{spec.metric}"))
        record, arrays = {**spec.to_json(), **base, "started": now()}, {}
        t0 = time.perf_counter()
        try:
            scalars, arrays = split_result(metrics.get(spec.metric)(dataset, view, rng, **spec.options))
            record.update(status="done", values=scalars)
        except MetricNotApplicable as exc:
            record.update(status="not_applicable", error=str(exc))
        except BrokenPipeError:  # the output was closed: stop, the metric did not fail
            raise
        except Exception as exc:
            record.update(status="failed", error=one_line(exc), traceback=traceback.format_exc())
        record["seconds"] = round(time.perf_counter() - t0, 3)
        store.write_evaluation(record, arrays)
        if bar is not None:
            bar.update(1)


def evaluate_run(
    run: RunStore,
    specs: list[EvalSpec],
    device: torch.device,
    cell_ids: set[str] | None = None,
    retry_failed: bool = False,
    progress: bool = True,
) -> int:
    """Evaluate every trained model of ``run`` (or those in ``cell_ids``) with ``specs``; trains
    nothing.  Returns the number of evaluations computed."""
    stores = [
        s
        for s in run.cell_stores()
        if s.status()["status"] == "trained" and (cell_ids is None or s.path.name in cell_ids)
    ]
    work = [(s, missing(s, specs, retry_failed)) for s in stores]
    opened: dict[str, Dataset] = {}
    total = sum(len(todo) for _, todo in work)
    with tqdm(total=total, desc="evaluations", unit="eval", disable=not progress) as bar:
        for store, todo in work:
            if not todo:
                continue
            name = store.cell().dataset
            if name not in opened:
                opened[name] = datasets.get(name)()
            evaluate_cell(store, opened[name], device, todo, bar)
    return total


def open_trained(run: str | Path, cell_id: str | None, device: torch.device) -> tuple[CellStore, Dataset, ModelView]:
    """A finished run's model (``cell_id``, or the first trained one) ready for metrics outside
    the run: its store, its dataset, and a :class:`ModelView` on ``device``."""
    store = RunStore(run).trained_cell(cell_id)
    dataset = datasets.get(store.cell().dataset)()
    return store, dataset, ModelView(store.load_net(dataset.image_shape), device)
