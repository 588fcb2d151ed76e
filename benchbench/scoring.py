"""Scoring encoders benchbench did not train (:mod:`benchbench.encoders`), with the same metrics
as its own models: through :class:`~benchbench.evaluate.ModelView` — batched on the chosen
device, each dataset image encoded once per scoring — with a trained cell's random streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from benchbench import encoders
from benchbench.data import Dataset
from benchbench.evaluate import ModelView, call_metric, run_metric, split_result
from benchbench.metric import EvalSpec, check_profile, is_across_seeds, profile_options
from benchbench.registry import BenchbenchError, datasets, metrics


def score(
    encoder,
    dataset: str | Dataset,
    metrics: list[str] | None = None,
    profile: str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    device: str = "cpu",
    seed: int = 0,
    label: str | None = None,
    latent_dim: int = 10,
    progress: bool = True,
) -> pd.DataFrame:
    """Score ``encoder`` (an object, a spec for :func:`load_encoder`, or ``baseline:NAME`` with
    ``latent_dim`` codes, see :mod:`benchbench.baselines`) on ``dataset`` (a name or a dataset)
    with ``metrics`` (default: every metric that scores one model) at ``profile``'s sizes with
    ``options`` per metric on top; the metrics' streams come from ``seed`` as a trained cell's
    do (a baseline is fitted or initialised with it).  Returns a row per output (``metric``,
    ``key``, ``status``, ``output``, ``value``, ``error``, the metric's ``seconds``); a metric that does not apply, or
    fails, is a row saying why."""
    label = label or (encoder if isinstance(encoder, str) else getattr(encoder, "__name__", type(encoder).__name__))
    data = datasets.get(dataset)() if isinstance(dataset, str) else dataset
    names = metrics_to_score(metrics)
    check_profile(profile, names)
    specs = [
        EvalSpec.of(n, {**profile_options(n, profile), **(options or {}).get(n, {})}, where=f"option {n}")
        for n in names
    ]
    view = encoder_view(encoder, data, label, torch.device(device), latent_dim, seed)
    rows = []
    for spec in tqdm(specs, desc="metrics", unit="metric", disable=not progress):
        fields, result = run_metric(lambda spec=spec: call_metric(spec, data, view, seed))
        base = {"metric": spec.shown, "key": spec.key, "status": fields["status"], "seconds": fields["seconds"]}
        if result is None:
            rows.append({**base, "output": None, "value": np.nan, "error": fields.get("error")})
            continue
        for output, value in split_result(result)[0].items():
            rows.append({**base, "output": output, "value": value, "error": None})
    return pd.DataFrame(rows, columns=["metric", "key", "status", "output", "value", "error", "seconds"])


def encoder_view(encoder, dataset: Dataset, label: str, device: torch.device, latent_dim: int, seed: int):
    """What metrics see of ``encoder``: a checked :class:`ForeignNet` in a :class:`ModelView`, or
    the ``factors`` baseline's own view."""
    if isinstance(encoder, str) and encoder.startswith("baseline:"):
        encoder = encoders.build(encoder.removeprefix("baseline:"), dataset, latent_dim, seed)
        if isinstance(encoder, encoders.FactorCodes):
            return encoder
    net = encoders.ForeignNet(encoders.load_encoder(encoder) if isinstance(encoder, str) else encoder, label)
    encoders.check_encoder(net, dataset)
    return ModelView(net, device)


def metrics_to_score(names: list[str] | None) -> list[str]:
    """``names`` checked (an unknown one is a one-line error), or every metric that scores one model."""
    for name in names or []:
        metrics.get(name)
        if is_across_seeds(name):
            raise BenchbenchError(f"{name} compares the seeds of a configuration trained here, not one encoder")
    return list(names) if names else [n for n in metrics.names() if not is_across_seeds(n)]
