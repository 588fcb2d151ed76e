"""``modularity_explicitness``: Ridgeway & Mozer's modularity and explicitness, as
disentanglement_lib computes them.

Modularity: with m_ij the mutual information between latent i (20 equal-width bins) and factor
j on ``num_train`` random images and θ_i = max_j m_ij, each latent scores
``1 − Σ_{j≠argmax} m_ij² / (θ_i² (K − 1))`` (0 when θ_i = 0); the mean over latents is reported.

Explicitness: latents are standardised with the training mean and deviation; for each factor a
logistic regression (:func:`benchbench.plugin.representation.logistic_regression`: in compat mode the
one disentanglement_lib ran on) predicts it from all latents; the score is the
macro ROC-AUC of its class probabilities, one-vs-rest, on the training and on ``num_test``
fresh images, averaged over factors.

The default mode fixes two disentanglement_lib failure cases: a latent with zero deviation is
left unscaled instead of divided by zero (which gives NaN inputs), and classes are aligned with
the classifier's (``label_binarize`` on its classes; AUC over classes with both outcomes in the
data) where disentanglement_lib's ``MultiLabelBinarizer`` raises when a sample lacks a class.
``mode="compat"`` keeps disentanglement_lib's arithmetic.
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
    logistic_regression,
    metrics,
    mutual_info_matrix,
    profiles,
    sample_codes,
    shown_as,
)


def modularity(mi: np.ndarray) -> float:
    squared = np.square(mi)
    top = np.max(squared, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = (np.sum(squared, axis=1) - top) / (top * (squared.shape[1] - 1.0))
    score = 1.0 - delta
    score[top == 0.0] = 0.0
    return float(np.mean(score))


def _auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray, compat: bool) -> float:
    from sklearn.metrics import roc_auc_score  # deferred: seconds to import, and every command loads the metrics
    from sklearn.preprocessing import MultiLabelBinarizer, label_binarize

    if compat:
        return roc_auc_score(MultiLabelBinarizer().fit_transform(y[:, None]), proba)
    onehot = label_binarize(y, classes=classes)
    if classes.size == 2:
        onehot = np.hstack([1 - onehot, onehot])
    both = (onehot.min(axis=0) == 0) & (onehot.max(axis=0) == 1)
    return roc_auc_score(onehot[:, both], proba[:, both], average="macro")


@metrics.register("modularity_explicitness")
@defined_by("Ridgeway & Mozer 2018; disentanglement_lib evaluation/metrics/modularity_explicitness.py")
@better(modularity="higher", explicitness_train="higher", explicitness_test="higher")
@shown_as(
    modularity="modularity",
    explicitness_train="explicitness (train ROC AUC)",
    explicitness_test="explicitness (test ROC AUC)",
)
@bounds(num_train=COUNT, num_test=COUNT, num_bins=COUNT)
@profiles(fast={"num_train": 3000, "num_test": 1500})
def modularity_explicitness(
    dataset, model, rng, *, num_train: int = 10_000, num_test: int = 5_000, num_bins: int = 20, mode: Mode = "default"
):
    """Modularity (mutual-information based) and explicitness (logistic-regression ROC-AUC)."""
    compat = mode == "compat"
    mus, ys = sample_codes(dataset, model, num_train, rng)
    mus_test, ys_test = sample_codes(dataset, model, num_test, rng)
    mi = mutual_info_matrix(histogram_discretize(mus, num_bins), ys)
    mean, std = mus.mean(axis=0), mus.std(axis=0)
    if not compat:
        std = np.where(std > 0, std, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # compat: a constant latent gives NaN
        x_train, x_test = (mus - mean) / std, (mus_test - mean) / std
    train_auc, test_auc = [], []
    for j in range(ys.shape[1]):
        clf = logistic_regression(mode).fit(x_train, ys[:, j])
        train_auc.append(_auc(ys[:, j], clf.predict_proba(x_train), clf.classes_, compat))
        test_auc.append(_auc(ys_test[:, j], clf.predict_proba(x_test), clf.classes_, compat))
    return {
        "modularity": modularity(mi),
        "explicitness_train": float(np.mean(train_auc)),
        "explicitness_test": float(np.mean(test_auc)),
    }
