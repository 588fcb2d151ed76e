"""``dci``: Eastwood & Williams' Disentanglement, Completeness, Informativeness, as
disentanglement_lib computes it.

For each factor, a gradient-boosted tree classifier (scikit-learn's ``GradientBoostingClassifier``
with its defaults) predicts it from all latents on ``num_train`` random images; its feature
importances form column j of the importance matrix R (latents × factors).  Disentanglement is
``Σ_i ρ_i (1 − H_K(R_i·))`` with ``ρ_i`` latent i's share of the total importance; completeness is
``Σ_j ρ_j (1 − H_D(R_·j))`` (entropies in base K factors / D latents, R + 1e-11 as in
disentanglement_lib).  Informativeness is the classifiers' mean accuracy on the training and on
``num_test`` fresh images (disentanglement_lib's ``informativeness_train`` / ``_test``; the DCI
paper reports the error, one minus it).  The classifiers are :mod:`benchbench.plugin.boosting`'s, the same
trees grown for every factor at once on the model's device; a split tied between latents is
broken as scikit-learn's unseeded trees break it in disentanglement_lib, at random (``ties``).
"""

from __future__ import annotations

import numpy as np

from benchbench.api import (
    COUNT,
    Shown,
    Ties,
    better,
    bounds,
    defined_by,
    execution,
    fit_classifiers,
    introduced,
    metrics,
    profiles,
    sample_codes,
    shown_as,
    tie_seed,
)


def disentanglement(importance: np.ndarray) -> float:
    """``Σ_i ρ_i (1 − H_K(p_i))`` over latents i (rows of the latents × factors matrix)."""
    import scipy.stats  # deferred: seconds to import, and every command loads the metrics

    per_latent = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_latent * weights.sum(axis=1) / weights.sum()))


def completeness(importance: np.ndarray) -> float:
    """``Σ_j ρ_j (1 − H_D(p_j))`` over factors j (columns)."""
    import scipy.stats

    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_factor * weights.sum(axis=0) / weights.sum()))


@metrics.register("dci")
@defined_by("Eastwood & Williams 2018; disentanglement_lib evaluation/metrics/dci.py")
@better(disentanglement="higher", completeness="higher", informativeness_train="higher", informativeness_test="higher")
@shown_as(
    disentanglement="DCI disentanglement",
    completeness="DCI completeness",
    informativeness_train=Shown("DCI informativeness, train accuracy", to_percent=100),
    informativeness_test=Shown("DCI informativeness, test accuracy", to_percent=100),
)
@bounds(num_train=COUNT, num_test=COUNT)
@profiles(fast={"num_train": 1000, "num_test": 500})
@execution("device")
@introduced(ties="lowest")
def dci(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    ties: Ties = "random",
    device: str | None = None,
):
    """Disentanglement, completeness and informativeness from gradient-boosted-tree importances.

    ``ties``: how the trees break a split tied between latents — ``random``, from the metric's
    stream (after its draws); or ``lowest``, the lowest latent (what evaluations made before this
    option computed, leaning toward the first latents).
    ``device``: where the trees grow; by default the model's (a run's GPU), else the CPU.
    """
    x_train, y_train = sample_codes(dataset, model, num_train, rng)
    x_test, y_test = sample_codes(dataset, model, num_test, rng)
    seed = tie_seed(ties, rng)
    fits = fit_classifiers(x_train, y_train, x_test, device=device or model.device, tie_seed=seed)
    importance = np.abs(np.stack([f.importance for f in fits], axis=1))
    return {
        "disentanglement": disentanglement(importance),
        "completeness": completeness(importance),
        "informativeness_train": float(np.mean([np.mean(f.train_prediction == y) for f, y in zip(fits, y_train.T)])),
        "informativeness_test": float(np.mean([np.mean(f.test_prediction == y) for f, y in zip(fits, y_test.T)])),
        "importance": importance,
    }
