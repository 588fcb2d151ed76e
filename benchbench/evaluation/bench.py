"""What evaluation costs, metric by metric: seconds in the network (encoding, decoding) and the
rest (sampling, fitting, scoring), on a trained model or on a code matrix (``benchbench bench
--metrics``).

Why both: a model's cost is the images it encodes plus what the metric fits on the codes; codes
that need no network show the metrics' own cost, the part disentanglement_lib's code can be timed
on too (``scripts/time_reference_metrics.py``, on :func:`synthetic_codes`).
"""

from __future__ import annotations

import numpy as np
import torch

from benchbench.core.progress import log
from benchbench.core.registry import datasets
from benchbench.evaluation.encoders import CodeTable
from benchbench.evaluation.evaluate import call_metric, load_trained, run_metric
from benchbench.plugin.data import GroundTruthDataset
from benchbench.plugin.metric import declaration, is_across_seeds
from benchbench.plugin.representation import Representation

INFORMATIVE = 5  # latents of :func:`synthetic_codes` that carry a factor (the rest are noise)


def synthetic_codes(dataset: GroundTruthDataset, seed: int = 0, latent_dim: int = 10) -> CodeTable:
    """A code per image of ``dataset``, a fixed function of its index: the first factors scaled to
    [0, 1] plus Gaussian noise (σ 0.1), then pure noise latents, float32.  What a fair model's codes
    look like to a metric (informative, noisy, some latents unused), without a network."""
    rng = np.random.default_rng(seed)
    factors = dataset.index_to_factors(np.arange(len(dataset)))
    sizes = np.maximum(np.asarray(dataset.factor_sizes) - 1, 1)
    scaled = (factors / sizes)[:, : min(INFORMATIVE, latent_dim)]
    noise = rng.standard_normal((len(dataset), latent_dim - scaled.shape[1]))
    codes = np.concatenate([scaled + 0.1 * rng.standard_normal(scaled.shape), noise], axis=1)
    return CodeTable(codes.astype(np.float32), f"synthetic codes (seed {seed})")


def trained_or_synthetic(run: str | None, cell: str | None = None) -> tuple[GroundTruthDataset, Representation]:
    """A run's trained model (its ``cell``, else its first trained one) on the CPU, or without a
    run :func:`synthetic_codes` of shapes2d: what the scripts that compare two fits score."""
    if run:
        _, data, model = load_trained(run, cell, torch.device("cpu"))
        return data, model
    data = datasets.get("shapes2d")()
    return data, synthetic_codes(data)


def _sync(model: Representation) -> None:
    if torch.device(model.device).type == "cuda":
        torch.cuda.synchronize(model.device)


def time_metric(
    name: str,
    dataset,
    model: Representation,
    seed: int = 0,
    profile: str | None = None,
    representation: str = "mean",
) -> dict:
    """One evaluation of ``name`` (its defaults, or ``profile``'s preset) timed: ``seconds`` in all,
    ``network_s`` of them in the network (0 for codes), ``images_encoded`` new to the model's cache."""
    options = {} if representation == "mean" else {"representation": representation}
    spec = declaration(name).evaluation(options, {}, profile=profile, where=name)
    network, encoded = getattr(model, "network_seconds", 0.0), getattr(model, "images_encoded", 0)
    fields, _ = run_metric(lambda: (call_metric(spec, dataset, model, seed), _sync(model))[0])
    network_s = getattr(model, "network_seconds", 0.0) - network
    row = {"metric": spec.shown, "status": fields["status"], "seconds": fields["seconds"]}
    row.update(network_s=round(network_s, 3), rest_s=round(fields["seconds"] - network_s, 3))
    row["images_encoded"] = getattr(model, "images_encoded", 0) - encoded
    log.info(f"bench: {model.label}: {spec.shown} {fields['status']} in {fields['seconds']:.1f} s")
    return row


def bench_metrics(
    names: list[str],
    dataset,
    model: Representation,
    seed: int = 0,
    profile: str | None = None,
    representations: tuple[str, ...] = ("mean",),
) -> list[dict]:
    """:func:`time_metric` of each per-model metric of ``names`` (those across seeds left out) on
    each representation, in order, so a later metric finds the images an earlier one encoded (as
    ``evaluate`` does)."""
    rows = []
    for representation in representations:
        for name in names:
            if is_across_seeds(name):
                continue
            rows.append(time_metric(name, dataset, model, seed, profile, representation))
    return rows
