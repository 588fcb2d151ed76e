"""``mcc``: the mean correlation coefficient of the identifiability literature (Khemakhem et al.
2020, "Variational Autoencoders and Nonlinear ICA"; the authors' ``mean_corr_coef`` in
``ilkhem/icebeem``, ``metrics/mcc.py``).

``num_train`` images drawn uniformly are encoded; the absolute correlation of every latent with
every factor (or label) is computed — Pearson, and Spearman (Pearson of average ranks, as
``scipy.stats.spearmanr``) — and latents are matched one-to-one to factors to maximise the sum
(``scipy.optimize.linear_sum_assignment``; with more latents than factors, the spare latents
stay unmatched).  ``mcc_pearson`` / ``mcc_spearman`` are the mean over the matched pairs.

Difference from the reference, by design: a latent or factor constant over the sample
correlates 0 with everything (the reference's ``np.corrcoef`` gives NaN and so a NaN score).
"""

from __future__ import annotations

import math

import numpy as np

from benchbench.api import better, bounds, defined_by, metrics, pearson_matrix, profiles, sample_codes, shown_as


def matched_mean(corr: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean of ``|corr|`` ``(latents, factors)`` over the one-to-one matching that maximises
    its sum, and the matched latent of each factor (−1 where none is left)."""
    from scipy.optimize import linear_sum_assignment

    strength = np.abs(corr)
    rows, cols = linear_sum_assignment(-strength)
    latent = np.full(corr.shape[1], -1)
    latent[cols] = rows
    return float(strength[rows, cols].mean()), latent


@metrics.register("mcc")
@defined_by("Khemakhem et al. 2020; ilkhem/icebeem metrics/mcc.py")
@better(mcc_pearson="higher", mcc_spearman="higher")
@shown_as(mcc_pearson="MCC (Pearson)", mcc_spearman="MCC (Spearman)")
@bounds(num_train=(2, math.inf))
@profiles(fast={"num_train": 3000})
def mcc(dataset, model, rng, *, num_train: int = 10_000):
    """Mean |correlation| of latents and factors after the best one-to-one matching (Pearson, Spearman)."""
    from scipy.stats import rankdata

    mus, ys = sample_codes(dataset, model, num_train, rng)
    pearson, matched_pearson = matched_mean(pearson_matrix(mus, ys))
    spearman, matched_spearman = matched_mean(pearson_matrix(rankdata(mus, axis=0), rankdata(ys, axis=0)))
    return {
        "mcc_pearson": pearson,
        "mcc_spearman": spearman,
        "matched_latent_pearson": matched_pearson,
        "matched_latent_spearman": matched_spearman,
    }
