"""The metric plugin API: what a metric author imports (the counterpart of :mod:`benchbench.plugin.method`).

A metric is a function registered with ``@metrics.register("name")``::

    def my_metric(dataset, model, rng, *, option=default, ...) -> dict[str, float | np.ndarray]

``dataset`` is a :class:`benchbench.plugin.data.GroundTruthDataset` (factors) or a
:class:`benchbench.plugin.data.LabelledDataset` (labels; metrics that need factors raise
:class:`MetricNotApplicable`), ``model`` a :class:`benchbench.plugin.representation.Representation`
(what a metric may call of any scored thing: codes by index or of images, the posterior, the
decoder, its device), ``rng`` a ``numpy.random.Generator``.  Options are
keyword-only and annotated, so grids and ``--option`` are checked against them before anything
runs.

Every metric also takes ``representation``: the codes it scores, the posterior mean ``μ(x)``
(``"mean"``, the default) or a code sampled from ``q(z|x)`` (``"sampled"``), as
disentanglement_lib's ``postprocess`` configs make them.  Calling a :class:`Metric` hands its
function a model whose codes are those samples (:meth:`Representation.sampled
<benchbench.plugin.representation.Representation.sampled>`), drawn from the evaluation's own random
stream; the function never sees the option.  It enters an evaluation's options, and so its key,
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbench.core.checks import conforms, interval_words, type_words, within
from benchbench.core.records import canonical_json
from benchbench.core.registry import BenchbenchError, metrics
from benchbench.core.registry import MetricNotApplicable as MetricNotApplicable  # the metric API's name for it

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
    return _sugar("profiles", named)


def defined_by(source: str):
    """Say where a metric's definition comes from (paper; reference code): ``benchbench list metrics`` shows it."""
    return _sugar("defined_by", source)


def across_seeds(fn):
    """Mark a metric as scoring the trained models of one configuration together:
    ``fn(dataset, models, rng, **options) → [result of models[0], result of models[1], …]``."""
    fn.across_seeds = True
    return fn


#: The range of an option that counts something (samples, bins, a batch): at least one.
COUNT = (1, math.inf)


def bounds(**ranges: tuple[float, float]):
    """Declare the range (both ends included) of numeric options: ``@bounds(num_train=COUNT,
    diff_quantile=(0, 1))``; each element of a list option is held to it.  Grids, ``evaluate``
    and ``score`` refuse a value outside in one line, before anything trains or runs."""
    return _sugar("bounds", dict(ranges))


def names_factors(*options: str):
    """Declare options whose values name factors (or labels) of the dataset: ``@names_factors(
    "factors")``.  ``run`` and ``evaluate`` check them against each dataset a metric scores
    (:meth:`Metric.check_factor_names`) before anything trains or runs."""
    return _sugar("names_factors", options)


def execution(*options: str):
    """Declare options that choose how a metric runs, not what it computes (``device``): they
    are recorded with an evaluation but left out of its key, so the same evaluation computed on
    another device is the same record."""
    return _sugar("execution", options)


def introduced(**before: Any):
    """Declare options added after evaluations were recorded, each with the value that computes
    what the metric computed before it existed: at that value the option is left out of the key,
    so those records stay the evaluation they were (``@introduced(ties="lowest")``)."""
    return _sugar("introduced", dict(before))


def better(**directions: Direction):
    """Declare which way each headline output is better: ``@better(mse="lower")``.

    Each evaluation record keeps these, so a report ranks and selects by them (``--select-by``)
    whether or not the metric's plugin is loaded; outputs not named are still stored and
    tabulated, never used to pick a row."""
    wrong = {k: v for k, v in directions.items() if v not in ("higher", "lower")}
    if wrong:
        raise ValueError(f"better: {', '.join(wrong)} must be 'higher' or 'lower'")
    return _sugar("better", dict(directions))


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
    return _sugar("shown_as", {k: v if isinstance(v, Shown) else Shown(v) for k, v in outputs.items()})


def _sugar(field: str, value):
    """A decorator that notes one field of a metric's declaration on its function; registration
    reads them all into one :class:`Metric` (:meth:`Metric.declare`)."""

    def attach(fn):
        setattr(fn, field, value)
        return fn

    return attach


_REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Option:
    """One option of a metric: its default (``inspect.Parameter.empty``: required), the type its
    annotation says, its range (:func:`bounds`), whether it names factors (:func:`names_factors`)
    and whether it only says how the metric runs (:func:`execution`: not part of the key); an
    option :func:`introduced` later names the value that computes what came before it (``before``)."""

    name: str
    default: Any
    hint: Any
    bounds: tuple[float, float] | None = None
    names_factors: bool = False
    execution: bool = False
    before: Any = _REQUIRED  # the value that computes what the metric did before this option (:func:`introduced`)

    def check(self, value: Any, where: str) -> Any:
        """``value`` if it has this option's type and range, else one line naming ``where.name``."""
        if not conforms(value, self.hint):
            raise BenchbenchError(f"{where}.{self.name}: must be {type_words(self.hint)}, got {value!r}")
        if self.bounds is not None and not within(value, *self.bounds):
            raise BenchbenchError(f"{where}.{self.name}: must be {interval_words(*self.bounds)}, got {value!r}")
        return value


@dataclass(frozen=True)
class Output:
    """A declared output as readers see it: in words (and the factor to %; ``None``: by its id),
    and which way is better (``None``: not ranked by)."""

    name: str
    shown: Shown | None = None
    better: Direction | None = None


@dataclass(frozen=True, eq=False)
class Metric:
    """A registered metric, declared once: its function, options, outputs, presets and how it is
    called.  Registration builds it from the function's signature and the decorators above
    (:meth:`declare`), checking that they agree, and every command — ``list``, grids,
    ``evaluate``, ``score``, the report — reads it.  Calling it calls the function."""

    name: str
    fn: Callable
    options: dict[str, Option]
    outputs: dict[str, Output]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    across_seeds: bool = False
    defined_by: str | None = None

    @classmethod
    def declare(cls, fn: Callable, name: str) -> Metric:
        """The metric ``fn`` is, from its keyword-only parameters and its decorators; a decorator
        naming an option the function lacks, or a preset outside an option's type or range, is
        an error at registration, not at the first grid that uses it."""
        params = inspect.signature(fn).parameters.values()
        hints = typing.get_type_hints(fn)
        declared = {
            "bounds": getattr(fn, "bounds", {}),
            "names_factors": getattr(fn, "names_factors", ()),
            "execution": getattr(fn, "execution", ()),
            "introduced": getattr(fn, "introduced", {}),
        }
        keyword = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        for what, names in declared.items():
            unknown = set(names) - {p.name for p in keyword}
            if unknown:
                raise BenchbenchError(f"metric {name}: @{what} names no option of it: {', '.join(sorted(unknown))}")
        options = {}
        for p in keyword:
            fallback = Any if p.default in (None, _REQUIRED) else type(p.default)
            options[p.name] = Option(
                p.name,
                p.default,
                hints.get(p.name, fallback),
                declared["bounds"].get(p.name),
                p.name in declared["names_factors"],
                p.name in declared["execution"],
                declared["introduced"].get(p.name, _REQUIRED),
            )
        better_of, shown = getattr(fn, "better", {}), getattr(fn, "shown_as", {})
        outputs = {o: Output(o, shown.get(o), better_of.get(o)) for o in {**better_of, **shown}}
        metric = cls(
            name,
            fn,
            options,
            outputs,
            dict(getattr(fn, "profiles", {})),
            bool(getattr(fn, "across_seeds", False)),
            getattr(fn, "defined_by", None),
        )
        for profile, preset in metric.profiles.items():
            metric.resolve(preset, where=f"metric {name} profile {profile}")
        return metric

    def __call__(self, dataset, model, rng, *, codes_rng=None, **options):
        """The metric of ``model`` (a :class:`~benchbench.plugin.representation.Representation`; across
        seeds, a list of them) with ``options``.  ``representation="sampled"`` scores each
        model's codes drawn from ``q(z|x)`` with ``codes_rng`` (across seeds, one per model;
        default: streams spawned from ``rng``) — the one place the option is acted on."""
        if options.pop("representation", REPRESENTATIONS[0]) == "sampled":
            if self.across_seeds:
                streams = codes_rng or rng.spawn(len(model))
                model = [m.sampled(r) for m, r in zip(model, streams, strict=True)]
            else:
                model = model.sampled(codes_rng or rng.spawn(1)[0])
        return self.fn(dataset, model, rng, **options)

    @property
    def description(self) -> str:
        """The first line of the function's docstring (``benchbench list metrics``)."""
        return (self.fn.__doc__ or "").strip().partition("\n")[0]

    @property
    def better(self) -> dict[str, Direction]:
        """``{output: "higher" | "lower"}`` of the outputs it ranks by."""
        return {o.name: o.better for o in self.outputs.values() if o.better is not None}

    def resolve(self, options: dict[str, Any], where: str | None = None) -> dict[str, Any]:
        """Every option: ``options`` checked (names, types, ranges), the rest at their defaults;
        ``representation`` (the codes it scores, every metric's option) kept only when
        ``"sampled"``, so a mean evaluation keeps the key it had.  A problem is one line naming
        ``where.option``."""
        where = where or self.name
        options = dict(options)
        representation = options.pop("representation", REPRESENTATIONS[0])
        if representation not in REPRESENTATIONS:
            choices = ", ".join(REPRESENTATIONS)
            raise BenchbenchError(f"{where}.representation: must be one of {choices}, got {representation!r}")
        for key in options:
            if key not in self.options:
                allowed = ", ".join(sorted([*self.options, "representation"]))
                raise BenchbenchError(f"{where}.{key}: unknown key (allowed: {allowed})")
        resolved = {} if representation == REPRESENTATIONS[0] else {"representation": representation}
        for key, option in self.options.items():
            if key in options:
                resolved[key] = option.check(options[key], where)
            elif option.default is _REQUIRED:
                raise BenchbenchError(f"{where}.{key}: required")
            else:
                resolved[key] = option.default
        return resolved

    def preset(self, profile: str | None) -> dict[str, Any]:
        """The options of preset ``profile`` (``None`` or ``"default"``: none)."""
        return self.profiles.get(profile, {}) if profile else {}

    def evaluation(
        self,
        *layers: dict[str, Any],
        profile: str | None = None,
        where: str | None = None,
    ) -> EvalSpec:
        """The evaluation of this metric that ``profile``'s preset, then each of ``layers`` (a
        grid's options, then ``--option`` overrides) on top, make: the one merge every command
        uses.  A ``representation`` in a layer is kept whatever the preset says."""
        merged = self.preset(profile)
        for layer in layers:
            merged = {**merged, **layer}
        return EvalSpec(self.name, self.resolve(merged, where), self.execution_options)

    @property
    def execution_options(self) -> tuple[str, ...]:
        return tuple(k for k, o in self.options.items() if o.execution)

    def check_factor_names(self, spec: EvalSpec, dataset: str, names: tuple[str, ...]) -> None:
        """One line for an option of ``spec`` that names a factor ``dataset`` does not have."""
        for option in (o for o in self.options.values() if o.names_factors):
            unknown = [v for v in spec.options.get(option.name) or () if v not in names]
            if unknown:
                raise BenchbenchError(
                    f"{spec.metric}.{option.name}: {dataset} has no factor {', '.join(map(repr, unknown))} "
                    f"(its factors: {', '.join(names)})"
                )

    def is_default(self, options: dict[str, Any]) -> bool:
        """Whether ``options`` (resolved) are the defaults, execution options aside: the same key."""
        return EvalSpec(self.name, options, self.execution_options).key == self.evaluation().key


def declaration(name: str) -> Metric:
    """The registered metric ``name`` (an unknown name is one line with close matches)."""
    return metrics.get(name)


def is_across_seeds(name: str) -> bool:
    """Whether the registered metric scores the models of a configuration together (:func:`across_seeds`)."""
    return declaration(name).across_seeds


def shown_output(output: str) -> Shown:
    """How a ``metric[@representation].output`` column is shown: as its metric declares (a sampled
    evaluation says so), else by its id."""
    shown, _, name = output.partition(".")
    name_of = metric_of(shown)
    output_of = declaration(name_of).outputs.get(name) if name_of in metrics else None
    declared = output_of.shown if output_of is not None else None
    if declared is None:
        return Shown(output)
    suffix = f" ({shown.partition('@')[2]} codes)" if "@" in shown else ""
    return Shown(declared.words + suffix, declared.to_percent)


def declared_directions(name: str) -> dict[str, Direction]:
    """``{output: "higher" | "lower"}`` as the registered metric declares (empty if it declares
    none, or is not registered here)."""
    return declaration(name).better if name in metrics else {}


def check_profile(profile: str | None, names) -> None:
    """A profile must be ``default`` or a preset of at least one of the metrics ``names``."""
    known = {"default", *(p for n in names for p in declaration(n).profiles)}
    if profile is not None and profile not in known:
        raise BenchbenchError(f"unknown metric profile {profile!r} (known: {', '.join(sorted(known))})")


@dataclass(frozen=True)
class EvalSpec:
    """One evaluation: a metric and its fully resolved options (see :meth:`Metric.resolve`); the
    options in ``execution`` say how it runs and are left out of its key, as is an option
    :func:`introduced` after records existed when it has the value that computes what they did."""

    metric: str
    options: dict[str, Any]
    execution: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, options: dict[str, Any] | None = None, where: str | None = None) -> EvalSpec:
        return declaration(name).evaluation(options or {}, where=where)

    @property
    def shown(self) -> str:
        return shown_name(self.metric, self.options)

    @property
    def key(self) -> str:
        """Hash of the metric's name and the options that say what it computes: the evaluation's folder name."""
        before = {k: o.before for k, o in declaration(self.metric).options.items()} if self.metric in metrics else {}
        identity = {k: v for k, v in self.options.items() if k not in self.execution and before.get(k, _REQUIRED) != v}
        text = canonical_json({"metric": self.metric, "options": identity})
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        """The evaluation as records and the manifest keep it, with what a report needs to know of
        the metric without loading it: its declared directions and whether these options are its
        defaults (neither is part of the key: they say how to read the values, not how to
        compute them)."""
        described = {"better": declared_directions(self.metric), "defaults": self.is_default()}
        ran = {"execution": list(self.execution)} if self.execution else {}
        return {"metric": self.metric, "key": self.key, "options": self.options, **ran, **described}

    def is_default(self) -> bool:
        """Whether the options are the metric's defaults (``False`` for a metric not registered here)."""
        return self.metric in metrics and declaration(self.metric).is_default(self.options)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> EvalSpec:
        return cls(obj["metric"], obj["options"], tuple(obj.get("execution", ())))


metrics.declare = Metric.declare  # every metric registered is declared as one Metric
