"""Scoring encoders benchbench did not train (:mod:`benchbench.evaluation.encoders`), with the same metrics
as its own models: as a :class:`~benchbench.plugin.representation.Representation` — batched on the
chosen device, each dataset image encoded once per scoring — with a trained cell's random streams.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchbench.core.provenance import git_commit, versions
from benchbench.core.records import LAYOUT, EncoderSource
from benchbench.core.registry import BenchbenchError, datasets, metrics
from benchbench.evaluation import encoders
from benchbench.evaluation.evaluate import (
    call_metric,
    check_specs_fit,
    evaluation_specs,
    missing,
    run_metric,
    split_result,
    write_record,
)
from benchbench.planning.cells import Cell
from benchbench.plugin.data import Dataset
from benchbench.plugin.metric import check_profile, declaration, is_across_seeds
from benchbench.plugin.representation import Representation, label_names
from benchbench.storage.migrate import upgrade
from benchbench.storage.store import RunStore


def score(
    encoder,
    dataset: str | Dataset | None,
    metrics: list[str] | None = None,
    profile: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    device: str = "cpu",
    seed: int = 0,
    label: str | None = None,
    latent_dim: int = 10,
    run: str | Path | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> pd.DataFrame:
    """Score ``encoder`` on ``dataset`` (a name or a dataset; codes with their factors need none)
    with ``metrics`` (default: every metric that scores one model) at ``profile``'s sizes with
    ``options`` per metric on top; the metrics' streams come from ``seed`` as a trained cell's
    do (a baseline is fitted or initialised with it).  ``encoder`` is an
    :class:`~benchbench.core.records.EncoderSource`, the words that name one (``FILE.py:NAME``,
    ``MODULE:NAME``, a TorchScript or ``.pt2`` file, ``baseline:NAME`` with ``latent_dim``
    codes, a code matrix ``codes:FILE.npz``: see :func:`~benchbench.evaluation.encoders.load_codes`), or an
    object (a function, or an object with ``encode``).  Returns a row per output (``metric``,
    ``key``, ``status``, ``output``, ``value``, ``error``, the metric's ``seconds``); a metric
    that does not apply, or fails, is a row saying why.

    With ``run`` (a folder), a named encoder is a model of that run, as a trained cell is: its id
    hashes what it is (:func:`~benchbench.evaluation.encoders.identity`) and its label (default: the words
    that named it; a code file's stem), its evaluations are records, and only those it lacks
    are computed (and those that failed, with ``retry_failed``)."""
    source = EncoderSource.parse(encoder) if isinstance(encoder, str) else encoder
    if not isinstance(source, EncoderSource):
        source = None  # an object given in Python: scored, but not recorded
    if label is None and source is not None:
        label = source.stem if source.kind == "codes" or not isinstance(encoder, str) else encoder
    label = label or getattr(encoder, "__name__", type(encoder).__name__)
    names = metrics_to_score(metrics)
    check_profile(profile, names)
    specs = [declaration(n).evaluation((options or {}).get(n, {}), profile=profile, where=f"option {n}") for n in names]
    if run is not None and not (source and isinstance(dataset, str | None)):
        how = "FILE.py:NAME, MODULE:NAME, a file, baseline:NAME or codes:FILE.npz"
        raise BenchbenchError(f"to record scores in a run, name the encoder ({how}) and the dataset")
    model, data = encoders.representation_of(source or encoder, dataset, label, latent_dim, seed, device)
    check_specs_fit(specs, getattr(data, "name", type(data).__name__), data)
    if run is None:
        found = []
        for spec in _bar(specs, progress):
            fields, result = run_metric(lambda spec=spec: call_metric(spec, data, model, seed))
            found.append((spec, fields, split_result(result)[0] if result is not None else None))
        return _frame(found)
    digest = encoders.identity(source, model.latent_dim, model, data)
    cell = scored_cell(source, data.name, label, model.latent_dim, seed, digest)
    record = encoders.scored_record(source, label, model.latent_dim, seed, digest)
    device = torch.device(device)
    notes = changed_since(RunStore(run), cell, record)
    records = record_scores(RunStore(run), cell, record, data, model, specs, device, progress, retry_failed)
    table = _frame([(spec, r.to_json(), r.values) for spec, r in zip(specs, records)])
    table.attrs["notes"] = notes
    return table


def changed_since(run: RunStore, cell: Cell, record) -> list[str]:
    """A note if ``run`` holds this source scored on the same dataset with the same seed as
    something else (its weights or file changed since): its records stay, these are new."""
    for store in run.cell_stores():
        before = store.scored()
        if before is None or store.path.name == cell.id or before.source.text != record.source.text:
            continue
        earlier = store.cell()
        if (earlier.dataset, earlier.seed) == (cell.dataset, cell.seed) and before.sha256 != record.sha256:
            return [f"{record.source.text} is not what was scored as model {store.path.name} (its file or weights "
                    f"changed): scored as a new model {cell.id}, the earlier records kept"]  # fmt: skip
    return []


def scored_cell(source: EncoderSource, dataset: str, label: str, latent_dim: int, seed: int, digest: str) -> Cell:
    """The cell a named encoder is in a run — its label as the method, what it is (``digest``:
    :func:`~benchbench.evaluation.encoders.identity`) as its one hyperparameter, no training.  Its ``arch``
    is the word ``scored``, as runs have always recorded it (it is part of the cell's id);
    whether a cell was scored is its ``encoder.json``'s to say
    (:meth:`~benchbench.storage.store.CellStore.scored`)."""
    kind = "codes" if source.kind == "codes" else "encoder"
    return Cell(dataset, label, {kind: digest[:16]}, seed, "scored", latent_dim, 0, 0, 0.0)


def record_scores(
    run: RunStore, cell: Cell, record, dataset: Dataset, model: Representation, specs, device, progress, retry=False
):
    """The records of ``specs`` for the scored encoder ``cell`` of ``run`` (what it is:
    ``record``, a :class:`~benchbench.core.records.ScoredEncoder`), computing those it lacks
    (and those that failed, with ``retry``)."""
    with run.writing(f"benchbench score {record.source.text}"):
        upgrade(run)
        store = run.add_cell(cell)
        if store is None:
            raise BenchbenchError(f"{run.path}: cell {cell.id} holds another config; left as it is")
        before = (store.scored() or record).evaluations or []
        store.mark_scored(dataclasses.replace(record, evaluations=sorted({*before, *(s.key for s in specs)})))
        manifest = run.manifest()
        manifest.layout = manifest.layout or LAYOUT
        manifest.run = run.path.name
        manifest.grid = manifest.grid or {"name": "scores", "source": "benchbench score", "spec": {}}
        manifest.evaluations = list({**manifest.evaluations_by_key(), **{s.key: s.to_json() for s in specs}}.values())
        manifest.cells = sorted({*manifest.cells, cell.id})
        manifest.git_commit, manifest.versions = git_commit(), versions()
        run.write_manifest(manifest)
        for spec in _bar(missing(store, specs, retry), progress):
            write_record(store, spec, device, lambda spec=spec: call_metric(spec, dataset, model, cell.seed))
        return [store.evaluation(s.metric, s.key) for s in specs]


def _bar(specs, progress: bool):
    return tqdm(specs, desc="metrics", unit="metric", disable=not progress)


def _frame(results) -> pd.DataFrame:
    """A row per output of ``(spec, status fields, values or None)``."""
    rows = []
    for spec, fields, values in results:
        base = {"metric": spec.shown, "key": spec.key, "status": fields["status"], "seconds": fields.get("seconds")}
        if values is None:
            rows.append({**base, "output": None, "value": np.nan, "error": fields.get("error")})
        else:
            rows += [{**base, "output": k, "value": v, "error": None} for k, v in values.items()]
    return pd.DataFrame(rows, columns=["metric", "key", "status", "output", "value", "error", "seconds"])


def metrics_to_score(names: list[str] | None) -> list[str]:
    """``names`` checked (an unknown one is a one-line error), or every metric that scores one model."""
    for name in names or []:
        metrics.get(name)
        if is_across_seeds(name):
            raise BenchbenchError(f"{name} compares the seeds of a configuration trained here, not one encoder")
    return list(names) if names else [n for n in metrics.names() if not is_across_seeds(n)]


def score_baselines(run: RunStore, device: torch.device, progress: bool = True) -> list[str]:
    """Score every baseline (:data:`~benchbench.evaluation.encoders.BASELINES`) into ``run`` beside its
    trained models: on each of their datasets, at their latent size, with each of their seeds,
    with the run's evaluations (those of one model), computing only what is missing.  Returns
    notes: a baseline that does not apply to a dataset, or that the run has no trained models."""
    trained = [s.cell() for s in run.cell_stores() if s.status().status == "trained" and s.scored() is None]
    if not trained:
        return ["--baselines: the run has no trained models to set baselines beside"]
    specs = [s for s in evaluation_specs(run, None, None, {}) if not is_across_seeds(s.metric)]
    notes = []
    for dataset in sorted({c.dataset for c in trained}):
        cells = [c for c in trained if c.dataset == dataset]
        latent_dim = Counter(c.latent_dim for c in cells).most_common(1)[0][0]
        data = datasets.get(dataset)()
        for name in encoders.BASELINES:
            source = EncoderSource("baseline", name)
            size = latent_dim if name != "factors" else len(label_names(data))
            for seed in sorted({c.seed for c in cells}):
                digest = encoders.identity(source, size)
                cell = scored_cell(source, dataset, source.text, size, seed, digest)
                if run.cell_store(cell.id).config_path.exists() and not missing(run.cell_store(cell.id), specs):
                    continue  # scored before: nothing to fit again
                try:
                    model, _ = encoders.representation_of(source, data, source.text, size, seed, device)
                except BenchbenchError as exc:
                    notes.append(f"{source.text} on {dataset}: {exc}")
                    break
                record = encoders.scored_record(source, source.text, size, seed, digest)
                record_scores(run, cell, record, data, model, specs, device, progress)
    return notes
