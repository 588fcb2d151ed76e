"""``unsupervised``: the study's unsupervised scores (Locatello et al. 2019; disentanglement_lib
``evaluation/metrics/unsupervised_metrics.py``), which need no labels, so every dataset has them.

``num_train`` images drawn uniformly are encoded; ``Σ`` is the covariance of their codes
(``np.cov``, ddof 1).

* ``gaussian_total_correlation``: KL between ``N(0, Σ)`` and the product of its marginals,
  ``½ (Σᵢ log Σᵢᵢ − log det Σ)``.
* ``gaussian_wasserstein_correlation``: the squared 2-Wasserstein distance between the same
  two Gaussians, ``2 tr Σ − 2 tr √(diag(Σ) Σ)``; ``_norm`` divides it by ``tr Σ``.  The square
  root is ``scipy.linalg.sqrtm`` as in the reference; its trace's imaginary rounding (≤ 1e-8 of
  it for a covariance) is dropped.
* ``mutual_info_score``: the mean mutual information (nats) between two different latents, each
  discretised into ``num_bins`` equal-width bins as MIG does.

All three measure dependence between latents: lower is more factorised.  A latent constant over
the sample has zero variance, and the Gaussian scores are then infinite or undefined, as in the
reference.
"""

from __future__ import annotations

import math

import numpy as np

from benchbench.api import (
    COUNT,
    better,
    bounds,
    defined_by,
    encode,
    histogram_discretize,
    metrics,
    mutual_info_matrix,
    profiles,
    sample_indices,
    shown_as,
)


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """``KL(N(0, Σ) ‖ N(0, diag Σ))``."""
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """``W₂²(N(0, Σ), N(0, diag Σ))``."""
    from scipy.linalg import sqrtm

    root = sqrtm(cov * np.diag(cov)[:, None])
    return float(2 * np.trace(cov) - 2 * np.real(np.trace(root)))


@metrics.register("unsupervised")
@defined_by("Locatello et al. 2019; disentanglement_lib evaluation/metrics/unsupervised_metrics.py")
@better(
    gaussian_total_correlation="lower",
    gaussian_wasserstein_correlation="lower",
    gaussian_wasserstein_correlation_norm="lower",
    mutual_info_score="lower",
)
@shown_as(
    gaussian_total_correlation="Gaussian total correlation",
    gaussian_wasserstein_correlation="Gaussian Wasserstein correlation",
    gaussian_wasserstein_correlation_norm="Gaussian Wasserstein correlation (normalised)",
    mutual_info_score="mutual information between latents",
)
@bounds(num_train=(2, math.inf), num_bins=COUNT)
@profiles(fast={"num_train": 3000})
def unsupervised(dataset, model, rng, *, num_train: int = 10_000, num_bins: int = 20):
    """Gaussian total and Wasserstein correlation of the codes, and their mean pairwise mutual information."""
    mus = encode(dataset, model, sample_indices(dataset, num_train, rng), rng)
    cov = np.cov(mus, rowvar=False)
    d = cov.shape[0]
    wasserstein = gaussian_wasserstein_correlation(cov)
    mi = mutual_info_matrix(*(2 * [histogram_discretize(mus, num_bins)]))
    np.fill_diagonal(mi, 0)
    return {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / float(np.trace(cov)),
        "mutual_info_score": float(mi.sum() / (d * d - d)) if d > 1 else 0.0,
    }
