"""The metric plugin API: what a metric author imports (the counterpart of :mod:`benchbench.method`).

A metric is a function registered with ``@metrics.register("name")``::

    def my_metric(dataset, model, rng, *, option=default, ...) -> dict[str, float | np.ndarray]

``dataset`` is a :class:`benchbench.data.GroundTruthDataset` (factors) or a
:class:`benchbench.data.LabelledDataset` (labels; metrics that need factors raise
:class:`MetricNotApplicable`), ``model`` anything with ``encode(images) → μ`` and, for
reconstruction metrics, ``reconstruct(images) → decoder mean`` (the evaluator hands a
:class:`benchbench.evaluate.ModelView`), ``rng`` a ``numpy.random.Generator``.  Options are
keyword-only and annotated, so grids and ``--option`` are checked against them before anything
runs.

Every metric also takes ``representation``: the codes it scores, the posterior mean ``μ(x)``
(``"mean"``, the default) or a code sampled from ``q(z|x)`` (``"sampled"``), as
disentanglement_lib's ``postprocess`` configs make them.  The evaluation driver hands the metric
a model whose codes are those samples, drawn from the evaluation's own random stream; the
metric's function never sees the option.  It enters an evaluation's options, and so its key,
only when ``"sampled"``: every mean evaluation keeps the key it had.  Tables name a sampled
evaluation's outputs after :func:`shown_name` (``mig@sampled.discrete_mig``), so mean and
sampled scores stand in columns of their own, never mixed.

A metric that compares the models of one configuration trained from different seeds (UDR) is
marked :func:`across_seeds`: it is called once per configuration with the list of its trained
models, ordered by seed, and returns one result per model.  The evaluation driver writes each
model's result as that model's record, naming the models compared, and computes it again only
when the configuration's set of trained models changes.

An *evaluation* is one metric with its fully resolved options (:class:`EvalSpec`: every option
written out, defaults filled in), keyed by a hash of both, so "the defaults" and "the defaults
written out" are the same evaluation.  This module knows no store and no trainer: it is the
vocabulary metrics, grids and the evaluation driver share.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import typing
from dataclasses import dataclass
from typing import Any, Literal

from benchbench.cells import canonical_json
from benchbench.checks import conforms, interval_words, type_words, within
from benchbench.registry import BenchbenchError, metrics
from benchbench.registry import MetricNotApplicable as MetricNotApplicable  # the metric API's name for it

Direction = Literal["higher", "lower"]
#: The codes a metric can score (the ``representation`` option every metric takes).
REPRESENTATIONS = ("mean", "sampled")


def shown_name(metric: str, options: dict[str, Any]) -> str:
    """The name tables give an evaluation: the metric's, with ``@sampled`` when it scores sampled codes."""
    representation = options.get("representation", REPRESENTATIONS[0])
    return metric if representation == REPRESENTATIONS[0] else f"{metric}@{representation}"


def metric_of(shown: str) -> str:
    """The metric a :func:`shown_name` names."""
    return shown.partition("@")[0]


def profiles(**named: dict[str, Any]):
    """Attach named option presets to a metric: ``@profiles(fast={"num_train": 500})``.

    A grid's ``metric_profile = "fast"`` starts every metric from its preset of that name."""

    def attach(fn):
        fn.profiles = named
        return fn

    return attach


def defined_by(source: str):
    """Say where a metric's definition comes from (paper; reference code): ``benchbench list metrics`` shows it."""

    def attach(fn):
        fn.defined_by = source
        return fn

    return attach


def across_seeds(fn):
    """Mark a metric as scoring the trained models of one configuration together:
    ``fn(dataset, models, rng, **options) → [result of models[0], result of models[1], …]``."""
    fn.across_seeds = True
    return fn


def is_across_seeds(metric: str) -> bool:
    """Whether the registered metric scores the models of a configuration together (:func:`across_seeds`)."""
    return bool(getattr(metrics.get(metric), "across_seeds", False))


#: The range of an option that counts something (samples, bins, a batch): at least one.
COUNT = (1, math.inf)


def bounds(**ranges: tuple[float, float]):
    """Declare the range (both ends included) of numeric options: ``@bounds(num_train=COUNT,
    diff_quantile=(0, 1))``; each element of a list option is held to it.  Grids, ``evaluate``
    and ``score`` refuse a value outside in one line, before anything trains or runs."""

    def attach(fn):
        fn.bounds = dict(ranges)
        return fn

    return attach


def names_factors(*options: str):
    """Declare options whose values name factors (or labels) of the dataset: ``@names_factors(
    "factors")``.  ``run`` and ``evaluate`` check them against each dataset a metric scores
    (:func:`check_factor_names`) before anything trains or runs."""

    def attach(fn):
        fn.names_factors = options
        return fn

    return attach


def check_factor_names(spec: EvalSpec, dataset: str, names: tuple[str, ...]) -> None:
    """One line for an option of ``spec`` that names a factor ``dataset`` does not have."""
    for option in getattr(metrics.get(spec.metric), "names_factors", ()):
        value = spec.options.get(option)
        unknown = [v for v in value or () if v not in names]
        if unknown:
            raise BenchbenchError(
                f"{spec.metric}.{option}: {dataset} has no factor {', '.join(map(repr, unknown))} "
                f"(its factors: {', '.join(names)})"
            )


def better(**directions: Direction):
    """Declare which way each headline output is better: ``@better(mse="lower")``.

    Each evaluation record keeps these, so a report ranks and selects by them (``--select-by``)
    whether or not the metric's plugin is loaded; outputs not named are still stored and
    tabulated, never used to pick a row."""
    wrong = {k: v for k, v in directions.items() if v not in ("higher", "lower")}
    if wrong:
        raise ValueError(f"better: {', '.join(wrong)} must be 'higher' or 'lower'")

    def attach(fn):
        fn.better = dict(directions)
        return fn

    return attach


@dataclass(frozen=True)
class Shown:
    """How tables, captions and figures name an output: in words, and for an accuracy the factor
    that makes it a percentage (1: stored in %, 100: stored as a fraction), so every accuracy of a
    report reads in the same unit."""

    words: str
    to_percent: float | None = None


def shown_as(**outputs: str | Shown):
    """Name outputs for readers: ``@shown_as(mig="mutual information gap",
    informativeness_test=Shown("DCI informativeness (test accuracy)", to_percent=100))``.
    An output not named is shown by its id."""

    def attach(fn):
        fn.shown_as = {k: v if isinstance(v, Shown) else Shown(v) for k, v in outputs.items()}
        return fn

    return attach


def shown_output(output: str) -> Shown:
    """How a ``metric[@representation].output`` column is shown: as its metric declares (a sampled
    evaluation says so), else by its id."""
    shown, _, name = output.partition(".")
    metric = metric_of(shown)
    declared = getattr(metrics.get(metric), "shown_as", {}).get(name) if metric in metrics else None
    if declared is None:
        return Shown(output)
    suffix = f" ({shown.partition('@')[2]} codes)" if "@" in shown else ""
    return Shown(declared.words + suffix, declared.to_percent)


def declared_directions(metric: str) -> dict[str, Direction]:
    """``{output: "higher" | "lower"}`` as the registered metric declares (empty if it declares
    none, or is not registered here)."""
    return dict(getattr(metrics.get(metric), "better", {})) if metric in metrics else {}


def option_parameters(name: str) -> dict[str, inspect.Parameter]:
    """A metric's options: its keyword-only parameters."""
    params = inspect.signature(metrics.get(name)).parameters
    return {p: v for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}


def resolve_options(name: str, options: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """Every option of metric ``name``: ``options`` checked against the metric's signature
    (names, and types where annotated), the rest filled with their defaults.  A problem is a
    :class:`BenchbenchError` naming ``where.option``."""
    where = where or name
    params = option_parameters(name)
    options = dict(options)
    representation = options.pop("representation", REPRESENTATIONS[0])
    if representation not in REPRESENTATIONS:
        choices = ", ".join(REPRESENTATIONS)
        raise BenchbenchError(f"{where}.representation: must be one of {choices}, got {representation!r}")
    for key in options:
        if key not in params:
            allowed = ", ".join(sorted([*params, "representation"]))
            raise BenchbenchError(f"{where}.{key}: unknown key (allowed: {allowed})")
    hints = typing.get_type_hints(metrics.get(name))
    resolved = {} if representation == REPRESENTATIONS[0] else {"representation": representation}
    for key, param in params.items():
        if key not in options:
            if param.default is inspect.Parameter.empty:
                raise BenchbenchError(f"{where}.{key}: required")
            resolved[key] = param.default
            continue
        value = options[key]
        hint = hints.get(key, Any if param.default in (None, inspect.Parameter.empty) else type(param.default))
        if not conforms(value, hint):
            raise BenchbenchError(f"{where}.{key}: must be {type_words(hint)}, got {value!r}")
        low, high = getattr(metrics.get(name), "bounds", {}).get(key, (-math.inf, math.inf))
        if (low, high) != (-math.inf, math.inf) and not within(value, low, high):
            raise BenchbenchError(f"{where}.{key}: must be {interval_words(low, high)}, got {value!r}")
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
    def shown(self) -> str:
        return shown_name(self.metric, self.options)

    @property
    def key(self) -> str:
        """Hash of the metric's name and resolved options: the evaluation's folder name."""
        text = canonical_json({"metric": self.metric, "options": self.options})
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        """The evaluation as records and the manifest keep it, with what a report needs to know of
        the metric without loading it: its declared directions and whether these options are its
        defaults (neither is part of the key: they say how to read the values, not how to
        compute them)."""
        described = {"better": declared_directions(self.metric), "defaults": self.is_default()}
        return {"metric": self.metric, "key": self.key, "options": self.options, **described}

    def is_default(self) -> bool:
        """Whether the options are the metric's defaults (``False`` for a metric not registered here)."""
        return self.metric in metrics and self.options == resolve_options(self.metric, {})

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> EvalSpec:
        return cls(obj["metric"], obj["options"])
