"""``irs``: the Interventional Robustness Score (Suter et al. 2019, "Robustly Disentangled
Causal Mechanisms"), as disentanglement_lib's ``evaluation/metrics/irs.py`` computes it.

``num_train`` images drawn uniformly are encoded (with their factors, or a labelled dataset's
labels); latents constant over the sample are dropped.
For latent ``j`` and factor ``i``: within each group of points sharing a value of factor ``i``,
the ``diff_quantile`` quantile (0.99; 1.0 is the paper's maximum) of ``|z_j − E[z_j | g_i]|``,
averaged over the groups and divided by latent ``j``'s largest deviation from its mean;
``IRS_ij = 1 −`` that.  A latent's score is its best factor's; ``irs`` is their average weighted
by each latent's largest deviation (plain mean when every deviation is 0), and 0 when no latent
varies.

``mode="compat"`` keeps two disentanglement_lib quirks: the factors are first put into
``num_bins`` (20) equal-width histogram bins, which merges the values of a factor with more
(dSprites' 32 positions and 40 orientations) into groups the paper does not form; and
``num_active_dims`` is the *sum of the active latents' values* (``np.sum`` of the matrix, not
of its mask).  The default groups by the factors' exact values and counts the active latents.
"""

from __future__ import annotations

import numpy as np

from benchbench.api import (
    COUNT,
    Mode,
    better,
    bounds,
    defined_by,
    histogram_discretize,
    metrics,
    profiles,
    sample_codes,
    shown_as,
)


def percentile_rows(a: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(a, q, axis=0)`` (linear interpolation) of a 2-D array, the same bits,
    without its per-call overhead (a hundred groups a factor): numpy's virtual index, its
    neighbours and its two-sided interpolation with the weight as a Python float."""
    m = a.shape[0]
    fraction = np.true_divide(q, 100)
    virtual = float((m - 1) * fraction)
    below = int(np.floor(virtual))
    if virtual >= m - 1:
        below = above = m - 1
    elif virtual < 0:
        below = above = 0
    else:
        above = below + 1
    part = np.partition(a, sorted({below, above, m - 1}), axis=0)  # a NaN sorts last
    low, high = part[below], part[above]
    gamma = virtual - (below if virtual < m - 1 else -1)  # numpy's index for "the last" is −1
    step = high - low
    out = np.where(gamma >= 0.5, high - step * (1 - gamma), low + step * gamma)
    return np.where(np.isnan(part[m - 1]), part[m - 1], out)  # numpy's: a column with a NaN gives NaN


def irs_matrix(factors: np.ndarray, latents: np.ndarray, diff_quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """``(IRS (latents, factors), each latent's largest deviation from its mean)`` of points
    ``factors (n, K)`` and ``latents (n, d)``.  Each factor's groups are runs of the points
    stably sorted by it: the same points in the same order as a mask would pick them."""
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    deviations = np.zeros((latents.shape[1], factors.shape[1]))
    for i in range(factors.shape[1]):
        order = np.argsort(factors[:, i], kind="stable")
        ranked = factors[order, i]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        counts = np.diff(np.r_[starts, ranked.size])
        grouped = np.take(latents, order, axis=0)
        for start, count in zip(starts, counts):
            group = grouped[start : start + count]
            deviations[:, i] += percentile_rows(np.abs(group - group.mean(axis=0)), diff_quantile * 100)
        deviations[:, i] /= counts.size
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - deviations / max_deviations[:, None], max_deviations


@metrics.register("irs")
@defined_by("Suter et al. 2019; disentanglement_lib evaluation/metrics/irs.py")
@better(irs="higher")
@shown_as(irs="interventional robustness (IRS)")
@bounds(num_train=COUNT, diff_quantile=(0, 1), num_bins=COUNT)
@profiles(fast={"num_train": 3000})
def irs(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    diff_quantile: float = 0.99,
    num_bins: int = 20,
    mode: Mode = "default",
):
    """Interventional robustness: how little a latent moves while the factor it follows is held fixed."""
    mus, ys = sample_codes(dataset, model, num_train, rng)
    compat = mode == "compat"
    factors = histogram_discretize(ys, num_bins) if compat else ys
    active = mus[:, mus.var(axis=0) > 0]
    num_active = float(active.sum() if compat else active.shape[1])
    if active.shape[1] == 0:
        return {"irs": 0.0, "num_active_dims": num_active}
    matrix, max_deviations = irs_matrix(factors, active, diff_quantile)
    scores = matrix.max(axis=1)
    weights = max_deviations if max_deviations.sum() > 0 else None
    return {
        "irs": float(np.average(scores, weights=weights)),
        "num_active_dims": num_active,
        "per_latent": scores,
        "irs_matrix": matrix,
    }
