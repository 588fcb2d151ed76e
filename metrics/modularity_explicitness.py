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

``solver = "batched"`` (the default) fits every factor's regression at once
(:func:`benchbench.plugin.logistic.fit_logistic`; in compat mode liblinear's binary problems, the
intercept penalised, one per class) and, in the default mode, computes each class's ROC-AUC from
the ranks of its probabilities (the Mann–Whitney statistic, ties counted half: the area
scikit-learn's trapezoids give); ``"scikit-learn"`` fits and scores with scikit-learn one factor
after another, what every evaluation made before the option computed.

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
    Solver,
    better,
    bounds,
    defined_by,
    fit_logistic,
    fit_one_vs_rest,
    histogram_discretize,
    introduced,
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


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each class's ROC-AUC from its scores of every row (``scores``: classes × rows) and each
    row's class (``labels``; −1: a row of none), every class having rows of it and
    rows not: the probability that a row of the class outscores one that is not, ties counted
    half — the Mann–Whitney statistic.  A positive's rank among all of its column (ties half)
    is the count below the class's lowest positive plus its place among the values from its
    lowest positive to its highest, sorted alone; the positives' ranks summed, less their own
    P²/2 among themselves, count the negatives below them.  The sums are of halves of integers,
    exact.  (``np.compress`` selects several times faster than a boolean index.)"""
    k = scores.shape[0]
    scores = np.ascontiguousarray(scores)  # class-first: a class's values contiguous
    positives = np.bincount(labels + 1, minlength=k + 1)[1:]
    starts = np.concatenate([[0], np.cumsum(positives)[:-1]])
    rows = np.argsort(labels, kind="stable")[len(labels) - positives.sum() :]  # each class's rows, class by class
    pos = scores[labels[rows], rows]
    low, high = np.minimum.reduceat(pos, starts)[:, None], np.maximum.reduceat(pos, starts)[:, None]
    between = (scores >= low) & (scores <= high)
    inside = np.split(np.compress(between.ravel(), scores), np.cumsum(np.count_nonzero(between, axis=1))[:-1])
    ranks = np.count_nonzero(scores < low, axis=1) * positives - positives * positives / 2
    for j, (p, values) in enumerate(zip(np.split(pos, starts[1:]), inside)):
        values, p = np.sort(values), np.sort(p)  # sorted needles: numpy's search starts from the last one's place
        ranks[j] += (np.searchsorted(values, p, "left") + np.searchsorted(values, p, "right")).sum() / 2
    return ranks / (positives * (scores.shape[1] - positives))


def _auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray, compat: bool, solver: Solver) -> float:
    from sklearn.metrics import roc_auc_score  # deferred: seconds to import, and every command loads the metrics
    from sklearn.preprocessing import MultiLabelBinarizer

    if compat:
        return roc_auc_score(MultiLabelBinarizer().fit_transform(y[:, None]), proba)
    if solver == "batched":  # label_binarize's columns by index, both of them for two classes; −1: none
        place = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
        labels = np.where(classes[place] == y, place, -1)
        counts = np.bincount(labels + 1, minlength=len(classes) + 1)[1:]
        both = (counts > 0) & (counts < len(y))
        kept = np.where(both, np.cumsum(both) - 1, -1)
        scores = proba.T if both.all() else proba.T[both]  # class-first (the batched fit's own layout)
        return float(np.mean(rank_auc(np.where(labels >= 0, kept[labels], -1), scores)))
    onehot = (y[:, None] == classes[None, :]).astype(int)
    both = (onehot.min(axis=0) == 0) & (onehot.max(axis=0) == 1)
    return roc_auc_score(onehot[:, both], proba[:, both], average="macro")


def _fits(x: np.ndarray, ys: np.ndarray, mode: Mode, solver: Solver, device) -> list:
    """One logistic regression per factor, as ``mode`` and ``solver`` say."""
    if solver == "scikit-learn":
        return [logistic_regression(mode).fit(x, y) for y in ys.T]
    if mode == "compat":  # OneVsRestClassifier(LogisticRegression(solver="liblinear")): 100 iterations
        return fit_one_vs_rest(x, ys, C=1.0, penalise_intercept=True, max_iter=100, device=device)
    return fit_logistic(x, ys, C=1.0, max_iter=1000, device=device)


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
@introduced(solver="scikit-learn")
def modularity_explicitness(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    num_bins: int = 20,
    mode: Mode = "default",
    solver: Solver = "batched",
):
    """Modularity (mutual-information based) and explicitness (logistic-regression ROC-AUC).

    ``solver``: who fits the regressions and scores them — ``batched``, every factor at once, or
    ``scikit-learn`` one after another (what evaluations made before this option computed).
    The batched fits run on the model's device.
    """
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
    for j, clf in enumerate(_fits(x_train, ys, mode, solver, model.device)):
        classes = np.unique(ys[:, j])  # the classifier's classes: the sorted ones of its training labels
        train_auc.append(_auc(ys[:, j], clf.predict_proba(x_train), classes, compat, solver))
        test_auc.append(_auc(ys_test[:, j], clf.predict_proba(x_test), classes, compat, solver))
    return {
        "modularity": modularity(mi),
        "explicitness_train": float(np.mean(train_auc)),
        "explicitness_test": float(np.mean(test_auc)),
    }
