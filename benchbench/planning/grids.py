"""Grids: sweeps of dataset × method × hyperparameters × seeds, expanded into cells.

A grid is a small document (a TOML file, or a dict for the built-ins) with this shape::

    name = "my-grid"
    description = "What this grid is for"
    study = "kumar2018"             # optional: the study whose report its runs show
    seeds = 2                       # a count (seeds 0…n−1) or a list of seeds
    metric_profile = "fast"         # optional: start every metric from its named preset
    representations = ["mean", "sampled"]  # optional: score every metric on each (default: mean)

    [train]                         # defaults for every sweep
    arch = "conv"                   # conv | mlp
    latent_dim = 10
    steps = 2000
    batch_size = 64
    lr = 1e-4
    likelihood = "bernoulli"        # optional settings (benchbench.planning.cells.SETTINGS): precision,
    init = "tensorflow"             # likelihood, init, adam, train_images
    snapshots = [500, 1000]         # optional: keep (and evaluate) the models at these steps too

    [metrics.reconstruction_error]  # metrics to compute, with their options
    num_images = 2000

    [[sweep]]
    datasets = ["shapes2d"]
    method = "beta_vae"
    hyperparameters = { beta = [1, 4, 16] }   # a list sweeps, a scalar fixes
    train = { latent_dim = 10 }               # optional per-sweep override of [train]

Everything is validated before anything is written: an unknown key, a wrong type, an unknown
method/dataset/metric or a hyperparameter the method lacks is a one-line error naming the
file and the key.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.core.arch import ARCHITECTURES
from benchbench.core.checks import conforms, type_words
from benchbench.core.registry import BenchbenchError, datasets, methods, metrics, studies
from benchbench.planning.cells import SETTINGS, Cell
from benchbench.plugin.metric import REPRESENTATIONS, EvalSpec, check_profile, declaration
from benchbench.plugin.study import grid_catalogue

TRAIN_DEFAULTS: dict[str, Any] = {
    "arch": "conv",
    "latent_dim": 10,
    "steps": 300_000,
    "batch_size": 64,
    "lr": 1e-4,
    **{name: allowed[0] for name, allowed in SETTINGS.items()},
    "snapshots": [],
}
TRAIN_TYPES: dict[str, type] = {
    "arch": str,
    "latent_dim": int,
    "steps": int,
    "batch_size": int,
    "lr": float,
    **{name: str for name in SETTINGS},
    "snapshots": list[int],
}
#: The most steps a cell may train: ~10 days at 1,000 steps/s, far beyond any study's 300,000.
MAX_STEPS = 10**9
TOP_KEYS = {"name", "description", "study", "seeds", "train", "metrics", "metric_profile", "representations", "sweep"}
SWEEP_KEYS = {"datasets", "method", "hyperparameters", "train"}


class GridError(BenchbenchError):
    pass


def check_run_name(name: str, where: str = "--name") -> str:
    """A run's name becomes its folder under the results folder: one plain path component."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
        raise GridError(
            f"{where}: a run name is one folder name of letters, digits and . _ + - "
            f"(not starting with . or -), got {name!r}"
        )
    return name


@dataclass
class Grid:
    name: str
    description: str
    spec: dict[str, Any]
    source: str
    #: The study whose report a run of it shows: the one that registered it, or a file's ``study``.
    study: str | None = None

    def cells(
        self,
        datasets: list[str] | None = None,
        methods: list[str] | None = None,
        seeds: int | None = None,
        steps: int | None = None,
        precision: str | None = None,
    ) -> list[Cell]:
        """Expand the grid (with CLI overrides applied) into unique cells, in a stable order."""
        grid_datasets = {d for s in self.spec["sweep"] for d in s["datasets"]}
        grid_methods = {s["method"] for s in self.spec["sweep"]}
        for kind, wanted, have in (("dataset", datasets, grid_datasets), ("method", methods, grid_methods)):
            missing = sorted(set(wanted or ()) - have)
            if missing:
                raise GridError(
                    f"grid {self.name!r} has no {kind} {', '.join(missing)} (it has {', '.join(sorted(have))})"
                )
        seed_list = list(range(seeds)) if seeds is not None else _seed_list(self.spec.get("seeds", 1))
        out: dict[str, Cell] = {}
        for sweep in self.spec["sweep"]:
            if methods and sweep["method"] not in methods:
                continue
            train = {**TRAIN_DEFAULTS, **self.spec.get("train", {}), **sweep.get("train", {})}
            if steps is not None:
                train["steps"] = steps
            if precision is not None:
                train["precision"] = precision
            method = _method(sweep["method"])
            for combo in _product(sweep.get("hyperparameters", {})):
                hp = method.resolve(combo)
                for dataset in sweep["datasets"]:
                    if datasets and dataset not in datasets:
                        continue
                    for seed in seed_list:
                        cell = Cell(
                            dataset=dataset,
                            method=sweep["method"],
                            hyperparameters=hp,
                            seed=seed,
                            arch=train["arch"],
                            latent_dim=train["latent_dim"],
                            steps=train["steps"],
                            batch_size=train["batch_size"],
                            lr=float(train["lr"]),
                            **{name: train[name] for name in SETTINGS},
                            snapshots=tuple(s for s in train["snapshots"] if s < train["steps"]),  # --steps cuts
                        )
                        out.setdefault(cell.id, cell)
        return list(out.values())

    def evaluations(self) -> list[EvalSpec]:
        """The grid's evaluations: each metric with its fully resolved options."""
        return grid_evaluations(self.spec)


def grid_evaluations(spec: dict[str, Any]) -> list[EvalSpec]:
    """Each metric of ``spec`` once per representation of the grid's ``representations`` (as
    disentanglement_lib scores every model on its mean and on its sampled codes): its preset for
    the grid's ``metric_profile`` (if it has one), the grid's explicit options on top, every other
    option at its default.  A metric whose table names a ``representation`` is scored on that one."""
    profile = spec.get("metric_profile")
    out: dict[str, EvalSpec] = {}
    for name, options in spec.get("metrics", {}).items():
        for representation in spec.get("representations", REPRESENTATIONS[:1]):
            layer = {"representation": representation, **options}
            evaluation = declaration(name).evaluation(layer, profile=profile, where=f"metrics.{name}")
            out.setdefault(evaluation.key, evaluation)
    return list(out.values())


def _seed_list(seeds: int | list[int]) -> list[int]:
    return list(range(seeds)) if isinstance(seeds, int) else list(seeds)


def _method(name: str):
    return methods.get(name)()


def _product(hyperparameters: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(hyperparameters)
    values = [v if isinstance(v, list) else [v] for v in hyperparameters.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _check_type(where: str, value: Any, t: type) -> None:
    if not conforms(value, t):
        raise GridError(f"{where}: must be {type_words(t)}, got {value!r}")
    if t in (int, float) and value <= 0:
        raise GridError(f"{where}: must be positive, got {value!r}")


def _check_table(where: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise GridError(f"{where}: must be a table, got {value!r}")
    return value


def _check_keys(where: str, table: dict, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise GridError(f"{where}{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _check_train(where: str, train: Any) -> None:
    _check_keys(where, _check_table(where.rstrip("."), train), set(TRAIN_TYPES))
    for key, value in train.items():
        _check_type(f"{where}{key}", value, TRAIN_TYPES[key])
    if train.get("steps", 0) > MAX_STEPS:
        raise GridError(f"{where}steps: must be at most {MAX_STEPS:,}, got {train['steps']:,}")
    snapshots = train.get("snapshots", [])
    if any(s <= 0 for s in snapshots) or snapshots != sorted(set(snapshots)):
        raise GridError(f"{where}snapshots: must be increasing positive steps, got {snapshots!r}")
    if "arch" in train and train["arch"] not in ARCHITECTURES:
        raise GridError(f"{where}arch: unknown arch {train['arch']!r} (known: {', '.join(ARCHITECTURES)})")
    for name, allowed in SETTINGS.items():
        if name in train and train[name] not in allowed:
            raise GridError(f"{where}{name}: must be one of {', '.join(allowed)}, got {train[name]!r}")


def validate(spec: dict[str, Any], source: str, check_datasets: bool = True) -> None:
    """Raise :class:`GridError` (``SOURCE: KEY: problem``) on the first problem in ``spec``."""
    try:
        _validate(spec, check_datasets)
    except BenchbenchError as exc:
        raise GridError(f"{source}: {exc}") from None


def _validate(spec: dict[str, Any], check_datasets: bool) -> None:
    _check_keys("", spec, TOP_KEYS)
    for key in ("name", "description", "study", "metric_profile"):
        if key in spec and not isinstance(spec[key], str):
            raise GridError(f"{key}: must be a string, got {spec[key]!r}")
    if "study" in spec:
        try:
            studies.get(spec["study"])
        except BenchbenchError as exc:
            raise GridError(f"study: {exc}") from None
    if "name" in spec:
        check_run_name(spec["name"], "name")
    seeds = spec.get("seeds", 1)
    if isinstance(seeds, list):
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
            raise GridError(f"seeds: must be a positive integer or a list of non-negative integers, got {seeds!r}")
        if twice := sorted({s for s in seeds if seeds.count(s) > 1}):
            raise GridError(f"seeds: {', '.join(map(str, twice))} listed twice in {seeds!r} (one model per seed)")
    else:
        _check_type("seeds", seeds, int)
    if "train" in spec:
        _check_train("train.", spec["train"])
    for name, options in _check_table("metrics", spec.get("metrics", {})).items():
        metrics.get(name)  # raises the unknown-name error with close matches
        _check_table(f"metrics.{name}", options)
    check_profile(spec.get("metric_profile"), spec.get("metrics") or metrics.names())  # none named: any
    shown = spec.get("representations", list(REPRESENTATIONS[:1]))
    if not isinstance(shown, list) or not shown or any(r not in REPRESENTATIONS for r in shown):
        choices = ", ".join(REPRESENTATIONS)
        raise GridError(f"representations: must be a non-empty list of {choices}, got {shown!r}")
    grid_evaluations(spec)  # option names and types, against each metric's signature
    sweeps = spec.get("sweep")
    if not isinstance(sweeps, list) or not sweeps:
        raise GridError("sweep: a grid needs at least one [[sweep]] table")
    for i, sweep in enumerate(sweeps):
        where = f"sweep[{i}]"
        _check_keys(f"{where}.", _check_table(where, sweep), SWEEP_KEYS)
        for key in ("datasets", "method"):
            if key not in sweep:
                raise GridError(f"{where}.{key}: missing")
        names = sweep["datasets"]
        if not isinstance(names, list) or not names or not all(isinstance(d, str) for d in names):
            raise GridError(f"{where}.datasets: must be a non-empty list of dataset names, got {names!r}")
        if check_datasets:
            for j, name in enumerate(names):
                try:
                    datasets.get(name)
                except BenchbenchError as exc:
                    raise GridError(f"{where}.datasets[{j}]: {exc}") from None
        if not isinstance(sweep["method"], str):
            raise GridError(f"{where}.method: must be a string, got {sweep['method']!r}")
        try:
            method = _method(sweep["method"])
        except BenchbenchError as exc:
            raise GridError(f"{where}.method: {exc}") from None
        hps = _check_table(f"{where}.hyperparameters", sweep.get("hyperparameters", {}))
        for key, value in hps.items():
            if isinstance(value, list) and not value:
                raise GridError(f"{where}.hyperparameters.{key}: an empty list sweeps nothing")
        for combo in _product(hps):
            try:
                method.resolve(combo)
            except BenchbenchError as exc:
                raise GridError(f"{where}.hyperparameters: {exc}") from None
        if "train" in sweep:
            _check_train(f"{where}.train.", sweep["train"])
        train = {**TRAIN_DEFAULTS, **spec.get("train", {}), **sweep.get("train", {})}
        if train["snapshots"] and train["snapshots"][-1] >= train["steps"]:
            raise GridError(
                f"{where}: snapshots must come before the last step ({train['steps']:,}; the final model is "
                f"kept anyway), got {train['snapshots']!r}"
            )


def load_toml(path: str | Path) -> Grid:
    path = Path(path)
    if not path.is_file():
        raise GridError(f"{path}: grid file not found")
    try:
        spec = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GridError(f"{path}: invalid TOML: {exc}") from None
    validate(spec, str(path))
    return Grid(spec.get("name", path.stem), spec.get("description", ""), spec, str(path), spec.get("study"))


def get_grid(name_or_path: str) -> Grid:
    """A registered grid by name (a study's: :func:`~benchbench.plugin.study.grid_catalogue`), or
    a user grid from a ``.toml`` path."""
    catalogue = grid_catalogue()
    if name_or_path in catalogue:
        study, make = catalogue[name_or_path]
        spec = make()
        validate(spec, f"grid {name_or_path!r}", check_datasets=False)
        return Grid(spec["name"], spec["description"], spec, f"builtin:{name_or_path}", study)
    if name_or_path.endswith(".toml") or Path(name_or_path).exists():
        return load_toml(name_or_path)
    raise GridError(f"unknown grid {name_or_path!r}: use one of {', '.join(catalogue)} or a .toml file")
