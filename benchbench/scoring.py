"""Scoring encoders benchbench did not train (:mod:`benchbench.encoders`), with the same metrics
as its own models: through :class:`~benchbench.evaluate.ModelView` — batched on the chosen
device, each dataset image encoded once per scoring — with a trained cell's random streams.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchbench import encoders
from benchbench.cells import Cell
from benchbench.data import Dataset
from benchbench.evaluate import (
    call_metric,
    check_specs_fit,
    evaluation_specs,
    missing,
    run_metric,
    split_result,
    view_of,
    write_record,
)
from benchbench.files import atomic_write_json
from benchbench.metric import check_profile, declaration, is_across_seeds
from benchbench.migrate import upgrade
from benchbench.provenance import git_commit, versions
from benchbench.records import LAYOUT
from benchbench.registry import BenchbenchError, datasets, metrics
from benchbench.representation import label_names
from benchbench.store import RunStore


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
) -> pd.DataFrame:
    """Score ``encoder`` (an object, a spec for :func:`~benchbench.encoders.load_encoder`,
    ``baseline:NAME`` with ``latent_dim`` codes, or a code matrix ``codes:FILE.npz``, see
    :func:`~benchbench.encoders.load_codes`) on ``dataset`` (a name or a dataset; codes with
    their factors need none) with
    ``metrics`` (default: every metric that scores one model) at ``profile``'s sizes with
    ``options`` per metric on top; the metrics' streams come from ``seed`` as a trained cell's
    do (a baseline is fitted or initialised with it).  Returns a row per output (``metric``,
    ``key``, ``status``, ``output``, ``value``, ``error``, the metric's ``seconds``); a metric
    that does not apply, or fails, is a row saying why.

    With ``run`` (a folder), the encoder is a model of that run, as a trained cell is: its id
    hashes what it is (:func:`~benchbench.encoders.identity`) and its label, its evaluations are
    records, and only those it lacks are computed."""
    named = isinstance(encoder, str)
    codes = named and encoder.startswith(encoders.CODES)
    default = Path(encoder.removeprefix(encoders.CODES)).stem if codes else encoder
    label = label or (default if named else getattr(encoder, "__name__", type(encoder).__name__))
    names = metrics_to_score(metrics)
    check_profile(profile, names)
    specs = [
        declaration(n).evaluation((options or {}).get(n, {}), profile=profile, where=f"option {n}")
        for n in names
    ]
    if run is not None and not (named and isinstance(dataset, str | None)):
        how = "FILE.py:NAME, MODULE:NAME, a file, baseline:NAME or codes:FILE.npz"
        raise BenchbenchError(f"to record scores in a run, name the encoder ({how}) and the dataset")
    opened, data = encoders.open_encoder(encoder, dataset, label, latent_dim, seed)
    check_specs_fit(specs, getattr(data, "name", type(data).__name__), data)
    view = view_of(opened, torch.device(device))
    if run is None:
        found = []
        for spec in _bar(specs, progress):
            fields, result = run_metric(lambda spec=spec: call_metric(spec, data, view, seed))
            found.append((spec, fields, split_result(result)[0] if result is not None else None))
        return _frame(found)
    if codes:
        encoder = encoders.CODES + str(Path(encoder.removeprefix(encoders.CODES)).resolve())
    cell, digest = scored_cell(encoder, data.name, label, opened.latent_dim, seed)
    records = record_scores(RunStore(run), cell, digest, encoder, data, view, specs, torch.device(device), progress)
    return _frame([(spec, r.to_json(), r.values) for spec, r in zip(specs, records)])


def scored_cell(encoder: str, dataset: str, label: str, latent_dim: int, seed: int) -> tuple[Cell, str]:
    """The cell a named encoder is in a run — its label as the method, what it is (a hash: see
    :func:`~benchbench.encoders.identity`) as its one hyperparameter, no training — and that hash."""
    kind = "codes" if encoder.startswith(encoders.CODES) else "encoder"
    digest = encoders.identity(encoder, latent_dim)
    return Cell(dataset, label, {kind: digest[:16]}, seed, encoders.SCORED, latent_dim, 0, 0, 0.0), digest


def record_scores(
    run: RunStore, cell: Cell, digest: str, encoder: str, dataset: Dataset, view, specs, device, progress
):
    """The records of ``specs`` for the scored encoder ``cell`` of ``run`` (with its ``digest``,
    see :func:`scored_cell`), computing those it lacks."""
    with run.writing(f"benchbench score {encoder}"):
        upgrade(run)
        store = run.add_cell(cell)
        if store is None:
            raise BenchbenchError(f"{run.path}: cell {cell.id} holds another config; left as it is")
        facts = encoders.scored_facts(encoder, cell.method, cell.latent_dim, cell.seed)
        atomic_write_json(store.path / "encoder.json", {**facts, "sha256": digest})
        if store.status().status != "trained":
            store.mark_trained(scored=encoder)
        manifest = run.manifest()
        manifest.layout = manifest.layout or LAYOUT
        manifest.run = run.path.name
        manifest.grid = manifest.grid or {"name": "scores", "source": "benchbench score", "spec": {}}
        manifest.evaluations = list({**manifest.evaluations_by_key(), **{s.key: s.to_json() for s in specs}}.values())
        manifest.cells = sorted({*manifest.cells, cell.id})
        manifest.git_commit, manifest.versions = git_commit(), versions()
        run.write_manifest(manifest)
        for spec in _bar(missing(store, specs), progress):
            write_record(store, spec, device, lambda spec=spec: call_metric(spec, dataset, view, cell.seed))
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
    """Score every baseline (:data:`~benchbench.encoders.BASELINES`) into ``run`` beside its
    trained models: on each of their datasets, at their latent size, with each of their seeds,
    with the run's evaluations (those of one model), computing only what is missing.  Returns
    notes: a baseline that does not apply to a dataset, or that the run has no trained models."""
    trained = [
        s.cell() for s in run.cell_stores() if s.cell().arch != encoders.SCORED and s.status().status == "trained"
    ]
    if not trained:
        return ["--baselines: the run has no trained models to set baselines beside"]
    specs = [s for s in evaluation_specs(run, None, None, {}) if not is_across_seeds(s.metric)]
    notes = []
    for dataset in sorted({c.dataset for c in trained}):
        cells = [c for c in trained if c.dataset == dataset]
        latent_dim = Counter(c.latent_dim for c in cells).most_common(1)[0][0]
        data = datasets.get(dataset)()
        for name in encoders.BASELINES:
            encoder = f"baseline:{name}"
            size = latent_dim if name != "factors" else len(label_names(data))
            for seed in sorted({c.seed for c in cells}):
                cell, digest = scored_cell(encoder, dataset, encoder, size, seed)
                if run.cell_store(cell.id).config_path.exists() and not missing(run.cell_store(cell.id), specs):
                    continue  # scored before: nothing to fit again
                try:
                    opened, _ = encoders.open_encoder(encoder, data, encoder, size, seed)
                except BenchbenchError as exc:
                    notes.append(f"{encoder} on {dataset}: {exc}")
                    break
                record_scores(run, cell, digest, encoder, data, view_of(opened, device), specs, device, progress)
    return notes
