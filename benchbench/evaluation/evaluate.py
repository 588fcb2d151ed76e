"""The evaluation driver: trained models in, evaluation records out.

An evaluation (:class:`benchbench.plugin.metric.EvalSpec`: a metric and its resolved options) is a
record attached to a trained model — values, artifacts, the metric's declared directions,
seconds, versions, git commit, device — so a model is trained once and evaluated as many ways
as wanted.  Metrics see every model — trained here, a snapshot of one, or scored — as a
:class:`~benchbench.plugin.representation.Representation`; the API they are written against is
:mod:`benchbench.plugin.metric`.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from benchbench.core.progress import duration, log
from benchbench.core.provenance import device_name, git_commit, now, versions
from benchbench.core.records import EvaluationRecord, canonical_json
from benchbench.core.registry import BenchbenchError, datasets, metrics, one_line
from benchbench.core.runtime import cpu_threads, derived_seed, tune_cpu_allocator
from benchbench.evaluation import encoders
from benchbench.plugin.data import Dataset
from benchbench.plugin.metric import EvalSpec, MetricNotApplicable, check_profile, declaration, is_across_seeds
from benchbench.plugin.representation import ModelView, Representation, label_names
from benchbench.storage.store import CellStore, RunStore


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
    """The evaluations of ``specs`` the cell has no intact record of (its arrays' bytes checked:
    one changed since is computed again), or a failed one with ``retry_failed``; those across
    seeds are :func:`evaluate_configurations`' to find."""
    out = []
    for spec in specs:
        if is_across_seeds(spec.metric):
            continue
        record = store.evaluation(spec.metric, spec.key, verify=True)
        if record is None or (retry_failed and record.status == "failed"):
            out.append(spec)
    return out


def record_of(
    spec: EvalSpec, cell_id: str, device: torch.device, fields: dict[str, Any], result, **where: Any
) -> tuple[EvaluationRecord, dict[str, np.ndarray]]:
    """The one place an evaluation's record is made: which evaluation, its outcome (``fields`` of
    :func:`run_metric`, and the metric's ``result`` if it gave one: values in the record, arrays
    beside it), where it ran, and ``where`` it belongs (a snapshot's ``step``, the ``models``
    an across-seeds metric compared)."""
    scalars, arrays = split_result(result) if result is not None else (None, {})
    ran = {"cell": cell_id, "device": device_name(device), **cpu_threads(device), "versions": versions(),
           "git_commit": git_commit()}  # fmt: skip
    fields = {"started": now(), **fields, **({"values": scalars} if scalars is not None else {})}
    return EvaluationRecord.from_json({**spec.to_json(), **ran, **where, **fields}), arrays


def run_metric(call) -> tuple[dict[str, Any], Any]:
    """``call()``'s result and the record's status fields: ``done``; ``not_applicable`` with the
    reason; or ``failed`` with a one-line reason and the traceback kept."""
    t0, result = time.perf_counter(), None
    try:
        result, fields = call(), {"status": "done"}
    except MetricNotApplicable as exc:
        fields = {"status": "not_applicable", "error": str(exc)}
    except BrokenPipeError:  # the output was closed: stop, the metric did not fail
        raise
    except Exception as exc:
        fields = {"status": "failed", "error": one_line(exc), "traceback": traceback.format_exc()}
    fields["seconds"] = round(time.perf_counter() - t0, 3)
    return fields, result


def metric_streams(seed: int, spec: EvalSpec) -> tuple[np.random.Generator, np.random.Generator]:
    """An evaluation's random streams, from the model's seed: the metric's own, and the one its
    sampled codes are drawn from."""
    own = np.random.default_rng(derived_seed(seed, f"metric:{spec.metric}"))
    return own, np.random.default_rng(derived_seed(seed, f"metric:{spec.metric}:sampled"))


def call_metric(spec: EvalSpec, dataset: Dataset, model: Representation, seed: int):
    """The metric of ``spec`` on ``model`` (or on its sampled codes), with its options and streams,
    on the allocator the evaluator keeps (:func:`~benchbench.core.runtime.tune_cpu_allocator`)."""
    tune_cpu_allocator()
    own, codes = metric_streams(seed, spec)
    return metrics.get(spec.metric)(dataset, model, own, codes_rng=codes, **spec.options)


def write_record(store: CellStore, spec: EvalSpec, device: torch.device, call) -> None:
    """Run ``call`` (the metric of ``spec`` on the cell's model) and write its record."""
    step = {} if store.step is None else {"step": store.step}  # a snapshot's: the same record, keyed by step too
    started = now()
    fields, result = run_metric(call)
    where = f" at step {store.step}" if store.step is not None else ""
    took = f" in {duration(fields['seconds'])}" if fields.get("seconds") is not None else ""
    log.info(f"{store.cell().label}{where}: {spec.shown} {fields['status'].replace('_', ' ')}{took}")
    store.write_evaluation(*record_of(spec, store.cell().id, device, {**fields, "started": started}, result, **step))


def representation_for(
    store: CellStore, dataset: Dataset | str, device: torch.device
) -> tuple[Representation, Dataset]:
    """What metrics see of the cell's model — its trained network (or snapshot), or the encoder
    or codes it scored — and the dataset they see it on (codes may bring their own: see
    :func:`dataset_of`)."""
    scored = store.scored()
    if scored is not None:
        return encoders.scored_representation(scored, dataset, device)
    return ModelView(store.load_net(dataset.image_shape), device), dataset


def dataset_of(store: CellStore, loaded: dict[str, Dataset | str]) -> Dataset | str:
    """The cell's dataset, loaded once per name in ``loaded`` — or, for scored codes of a dataset
    benchbench does not know, its name: :func:`representation_for` finds it in the codes."""
    name = store.cell().dataset
    if name not in loaded:
        loaded[name] = name if name not in datasets and store.scored() is not None else datasets.get(name)()
    return loaded[name]


def check_specs_fit(specs: list[EvalSpec], name: str, dataset: Dataset | str) -> None:
    """Refuse, before anything runs, an evaluation whose options name a factor ``dataset`` lacks."""
    if isinstance(dataset, str):
        return  # scored codes with factors of their own: checked when the codes are read
    try:
        names = label_names(dataset)
    except BenchbenchError:
        return  # neither factors nor labels: such metrics are not applicable there
    for spec in specs:
        declaration(spec.metric).check_factor_names(spec, name, names)


def evaluate_cell(
    store: CellStore, dataset: Dataset | str, device: torch.device, todo: list[EvalSpec], bar: tqdm | None = None
) -> None:
    """Compute the evaluations ``todo`` of the cell (see :func:`missing`) and write each as a record.

    Each record is written the moment its metric finishes, so a killed evaluation loses only
    the metric in progress.  A metric that raises gets a ``failed`` record (one-line reason,
    traceback kept) and the others go on; one that does not apply to the dataset gets a
    ``not_applicable`` record."""
    if not todo:
        return
    cell = store.cell()
    log.info(f"{cell.label}: {len(todo)} evaluation{'s' if len(todo) != 1 else ''} to compute")
    try:
        model, dataset = representation_for(store, dataset, device)
    except Exception as exc:
        failed = {"status": "failed", "error": f"model could not be loaded: {one_line(exc)}"}
        for spec in todo:
            store.write_evaluation(*record_of(spec, cell.id, device, failed, None))
        return
    for spec in todo:
        if bar is not None:
            bar.set_postfix_str(f"{cell.label} {spec.metric}")
        write_record(store, spec, device, functools.partial(call_metric, spec, dataset, model, cell.seed))
        if bar is not None:
            bar.update(1)


def configuration_key(cell) -> str:
    """What the seeds of one configuration share: the training config without its seed."""
    return canonical_json({k: v for k, v in cell.config().items() if k != "seed"})


def evaluate_configurations(
    run: RunStore,
    specs: list[EvalSpec],
    device: torch.device,
    retry_failed: bool = False,
    progress: bool = True,
    cell_ids: set[str] | None = None,
) -> list[tuple[CellStore, EvalSpec]]:
    """Compute the :func:`~benchbench.plugin.metric.across_seeds` evaluations of ``specs`` for every
    configuration of ``run`` whose trained models have none yet, or whose records name another
    set of models (a seed trained since, or lost): one call per configuration, one record per
    model, each naming the models compared (``models``).  With ``cell_ids``, only the
    configurations of those cells.  Returns ``(store, spec)`` of each record written."""
    specs = [s for s in specs if is_across_seeds(s.metric)]
    groups: dict[str, list[CellStore]] = {}
    for store in run.cell_stores() if specs else []:
        if store.status().status == "trained":
            groups.setdefault(configuration_key(store.cell()), []).append(store)
    work = []
    for stores in groups.values():
        stores.sort(key=lambda s: s.cell().seed)
        ids = [s.path.name for s in stores]
        if cell_ids is not None and not cell_ids & set(ids):
            continue
        for spec in specs:
            records = [s.evaluation(spec.metric, spec.key, verify=True) for s in stores]
            stale = [r is None or r.models != ids or (retry_failed and r.status == "failed") for r in records]
            if any(stale):
                work.append((stores, spec))
    loaded: dict[str, Dataset | str] = {}
    for stores, spec in tqdm(work, desc="evaluations across seeds", unit="eval", disable=not progress):
        _evaluate_together(stores, dataset_of(stores[0], loaded), spec, device)
    return [(store, spec) for stores, spec in work for store in stores]


def _evaluate_together(stores: list[CellStore], dataset: Dataset | str, spec: EvalSpec, device: torch.device) -> None:
    """One across-seeds evaluation of the models ``stores``, written as a record of each."""
    cells = [s.cell() for s in stores]
    ids = [c.id for c in cells]
    rng = np.random.default_rng(derived_seed(cells[0].seed, f"metric:{spec.metric}:{','.join(ids)}"))

    def call():
        found = [representation_for(s, dataset, device) for s in stores]
        models = [model for model, _ in found]
        codes = [metric_streams(c.seed, spec)[1] for c in cells]
        results = metrics.get(spec.metric)(found[0][1], models, rng, codes_rng=codes, **spec.options)
        if len(results) != len(models):
            raise ValueError(f"{spec.metric} returned {len(results)} results for {len(models)} models")
        return results

    started = now()
    fields, results = run_metric(call)
    for i, (store, cell) in enumerate(zip(stores, cells)):
        result = results[i] if results is not None else None
        store.write_evaluation(*record_of(spec, cell.id, device, {**fields, "started": started}, result, models=ids))


def evaluate_run(
    run: RunStore,
    specs: list[EvalSpec],
    device: torch.device,
    cell_ids: set[str] | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    execute=None,
) -> Counter:
    """Evaluate every trained model of ``run`` (or those in ``cell_ids``) with ``specs``; trains
    nothing.  Returns how many records of each status (``done``, ``failed``,
    ``not_applicable``) were written, and how many trained cells were left out ``without
    weights`` (their damage said in a warning; ``run`` restores them).  ``execute(stores)``, if
    given, computes the per-model evaluations of those cells elsewhere (the runner's jobs on a
    cluster) instead of here, one metric at a time; those across seeds are computed here."""
    trained = [
        s for s in run.cell_stores() if s.status().status == "trained" and (cell_ids is None or s.path.name in cell_ids)
    ]
    weights = not run.keeps_no_weights()
    usable = (s for s in trained if weights or s.has_model())
    stores = [s for s in usable if not s.damaged_files(weights=weights)]
    work = [(m, missing(m, specs, retry_failed)) for s in stores for m in s.models()]  # snapshots too
    loaded: dict[str, Dataset | str] = {}
    for store, todo in work:
        check_specs_fit(todo, store.cell().dataset, dataset_of(store, loaded))
    if execute is not None:
        pending = {store.cell().id for store, todo in work if todo}
        execute([s for s in stores if s.path.name in pending])
    else:
        total = sum(len(todo) for _, todo in work)
        with tqdm(total=total, desc="evaluations", unit="eval", disable=not progress) as bar:
            for store, todo in work:
                if todo:
                    evaluate_cell(store, dataset_of(store, loaded), device, todo, bar)
    written = [(store, spec) for store, todo in work for spec in todo]
    written += evaluate_configurations(run, specs, device, retry_failed, progress, cell_ids)
    counts = Counter(store.evaluation(spec.metric, spec.key).status for store, spec in written)
    return counts + Counter({"without weights": len(trained) - len(stores)})


def load_trained(run: str | Path, cell_id: str | None, device: torch.device) -> tuple[CellStore, Dataset, ModelView]:
    """A finished run's model (``cell_id``, or the first trained one) ready for metrics outside
    the run: its store, its dataset, and a :class:`ModelView` on ``device``."""
    store = RunStore(run).trained_cell(cell_id)
    dataset = datasets.get(store.cell().dataset)()
    return store, dataset, ModelView(store.load_net(dataset.image_shape), device, label=store.cell().label)


def evaluation_specs(
    run: RunStore, names: list[str] | None, profile: str | None, overrides: dict[str, dict[str, Any]]
) -> list[EvalSpec]:
    """What ``benchbench evaluate`` computes: each metric (default: the run's grid's) with the
    grid's options (or, with ``profile``, that preset instead) on each representation the grid
    scores, ``overrides`` on top, resolved."""
    grid = list(run.grid_evaluations().values())
    names = names or list(dict.fromkeys(e["metric"] for e in grid))
    if not names:
        raise BenchbenchError(f"{run.path}: its grid has no metrics; name them with --metrics")
    for name in names:
        metrics.get(name)  # an unknown name is a one-line error with close matches
    check_profile(profile, names)
    for metric in overrides:
        if metric not in names:
            raise BenchbenchError(f"--option {metric}.…: {metric} is not evaluated here ({', '.join(names)})")
    specs: dict[str, EvalSpec] = {}
    for name in names:
        for entry in [e["options"] for e in grid if e["metric"] == name] or [{}]:
            if profile is not None:  # the preset instead of the grid's options, on the grid's codes
                entry = {k: v for k, v in entry.items() if k == "representation"}
            where = f"--option {name}"
            spec = declaration(name).evaluation(entry, overrides.get(name, {}), profile=profile, where=where)
            specs.setdefault(spec.key, spec)
    return list(specs.values())
