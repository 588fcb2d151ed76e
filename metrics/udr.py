"""``udr``: Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model Selection
for Variational Disentangled Representation Learning"), as disentanglement_lib's
``evaluation/udr/metrics/udr.py`` computes it — a score for choosing models without labels.

It compares the models of one configuration trained from different seeds (the metric is
:func:`~benchbench.plugin.metric.across_seeds`).  ``num_data_points`` images drawn uniformly are encoded
by every model: posterior means ``μ`` (or sampled codes), standardised per latent, and each latent's mean KL
divergence to the prior, ``½(μ² + σ² − log σ² − 1)``; a latent whose KL is at most 0.01 is
zeroed (inactive).  For every ordered pair of models (i, j), a matrix R of how strongly each
latent of i goes with each latent of j: the absolute coefficients of a Lasso (α = 0.1) regressing
j's codes on i's (``correlation = "lasso"``, the paper's UDR_L), or their absolute Spearman
correlations (``"spearman"``, UDR_S).  With ``filter_low_kl``, only latents whose KL exceeds
``kl_filter_threshold`` stay.  The pair's score is the relative strength of R — the mean over
columns of max²/sum and over rows likewise, averaged (a 0/0 counts 0) — and a model's ``udr`` is
the median of the scores of the pairs (other model, it).  Artifacts: ``pairwise`` (models ×
models, 0 on the diagonal) and this model's ``kl`` per latent.  A configuration with one trained
model has no UDR.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from benchbench.api import (
    MetricNotApplicable,
    across_seeds,
    better,
    bounds,
    defined_by,
    metrics,
    profiles,
    sample_indices,
    shown_as,
    standardise,
)

ACTIVE_KL = 0.01  # the zeroing threshold, fixed in the reference whatever kl_filter_threshold is


def relative_strength(corr: np.ndarray) -> float:
    """``½ (mean_j max_i R_ij² / Σ_i R_ij + mean_i max_j R_ij² / Σ_j R_ij)``, a 0/0 counting 0
    (and a pair with no active latent left scoring 0, where the reference stops with an error)."""
    if corr.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(corr.max(axis=0) ** 2 / corr.sum(axis=0))
        rows = np.nan_to_num(corr.max(axis=1) ** 2 / corr.sum(axis=1))
    return float((np.nanmean(columns) + np.nanmean(rows)) / 2)


def spearman_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|ρ_s|`` of every latent of ``a`` (rows) with every latent of ``b`` (columns); NaN where a
    latent is constant, as ``scipy.stats.spearmanr`` gives."""
    from scipy.stats import rankdata

    ra, rb = (rankdata(x, axis=0) for x in (a, b))
    ra, rb = ra - ra.mean(axis=0), rb - rb.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (ra.T @ rb) / np.sqrt(np.outer((ra**2).sum(axis=0), (rb**2).sum(axis=0)))
    return np.abs(corr)


def lasso_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|coefficients|`` of a Lasso (α = 0.1) predicting ``b`` from ``a``: latents of a × latents of b."""
    from sklearn.linear_model import Lasso

    return np.abs(Lasso(alpha=0.1).fit(a, b).coef_).T


def _encoded(dataset, models, indices, rng) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(codes, μ, log σ²)`` of every model on the same observations (the codes are ``μ``, or
    samples for the sampled representation)."""
    if dataset.stochastic:
        images = dataset.observations(indices, rng)
        return [(model.encode(images), *model.posterior(images)) for model in models]
    return [(model.encode_indices(dataset, indices), *model.posterior_indices(dataset, indices)) for model in models]


@metrics.register("udr")
@defined_by("Duan et al. 2020; disentanglement_lib evaluation/udr/metrics/udr.py")
@across_seeds
@better(udr="higher")
@shown_as(udr="unsupervised disentanglement ranking (UDR)")
@bounds(num_data_points=(2, math.inf), kl_filter_threshold=(0, math.inf))
@profiles(fast={"num_data_points": 500})
def udr(
    dataset,
    models,
    rng,
    *,
    num_data_points: int = 1000,
    correlation: Literal["lasso", "spearman"] = "lasso",
    filter_low_kl: bool = True,
    kl_filter_threshold: float = 0.01,
):
    """Agreement of a model's active latents with those of the same configuration's other seeds."""
    if len(models) < 2:
        raise MetricNotApplicable(
            f"UDR compares the seeds of a configuration; this one has {len(models)} trained model"
        )
    indices = sample_indices(dataset, num_data_points, rng)
    codes, kls = [], []
    for z, mu, logvar in _encoded(dataset, models, indices, rng):
        z, mu, logvar = z.astype(np.float64), mu.astype(np.float64), logvar.astype(np.float64)
        kl = np.mean(0.5 * (mu**2 + np.exp(logvar) - logvar - 1), axis=0)
        codes.append(standardise(z) * (kl > ACTIVE_KL)), kls.append(kl)
    n = len(models)
    pairwise = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            corr = lasso_matrix(codes[i], codes[j]) if correlation == "lasso" else spearman_matrix(codes[i], codes[j])
            if filter_low_kl:
                corr = corr[kls[i] > kl_filter_threshold][:, kls[j] > kl_filter_threshold]
            pairwise[i, j] = relative_strength(corr)
    return [
        {"udr": float(np.median(np.delete(pairwise[:, i], i))), "pairwise": pairwise, "kl": kls[i]} for i in range(n)
    ]
