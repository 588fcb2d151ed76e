"""``sap``: the Separated Attribute Predictability score (Kumar et al.'s later version of the
seed), as disentanglement_lib computes it.

A score matrix S (latents × factors): for discrete factors, the test accuracy of a linear SVM
(scikit-learn's ``LinearSVC(C=0.01, class_weight="balanced")``) predicting factor j from latent i
alone, trained on ``num_train`` random images and tested on ``num_test``, every latent's and
factor's fitted at once to its exact minimum by :mod:`benchbench.plugin.linear_svm`
(``solver = "batched"``) or by scikit-learn one after another; for ``continuous_factors=True``, the
squared correlation ``Cov(μ_i, y_j)² / (Var μ_i · Var y_j)`` (0 for a latent with variance
below 1e-12).  The score is the mean over factors of the gap between the two best latents.
"""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed

from benchbench.api import (
    COUNT,
    Solver,
    better,
    bounds,
    defined_by,
    fit_one_feature_svc,
    introduced,
    metrics,
    profiles,
    sample_codes,
    shown_as,
)


def _accuracy_row(mu_train, ys_train, mu_test, ys_test):
    """Accuracies of one latent predicting each factor, fitted by scikit-learn."""
    from sklearn.exceptions import (
        ConvergenceWarning,  # deferred: seconds to import, and every command loads the metrics
    )
    from sklearn.svm import LinearSVC

    row = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j in range(ys_train.shape[1]):
            clf = LinearSVC(C=0.01, class_weight="balanced").fit(mu_train[:, None], ys_train[:, j])
            row.append(np.mean(clf.predict(mu_test[:, None]) == ys_test[:, j]))
    return row


def _squared_correlation(mus: np.ndarray, ys: np.ndarray) -> np.ndarray:
    matrix = np.zeros((mus.shape[1], ys.shape[1]))
    for i in range(mus.shape[1]):
        for j in range(ys.shape[1]):
            cov = np.cov(mus[:, i], ys[:, j], ddof=1)
            if cov[0, 0] > 1e-12:
                matrix[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    return matrix


@metrics.register("sap")
@defined_by("Kumar et al. 2018; disentanglement_lib evaluation/metrics/sap_score.py")
@better(sap="higher")
@shown_as(sap="SAP score")
@bounds(num_train=COUNT, num_test=COUNT)
@profiles(fast={"num_train": 3000, "num_test": 1500})
@introduced(solver="scikit-learn")
def sap(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    num_test: int = 5_000,
    continuous_factors: bool = False,
    n_jobs: int = -1,
    solver: Solver = "batched",
):
    """Mean over factors of the gap between the two latents that predict it best.

    ``solver``: who fits the SVMs — ``batched``, all at once (the same problems, each to its
    exact minimum), or ``scikit-learn`` one after another on ``n_jobs`` threads (what
    evaluations made before this option computed).  The batched fit runs on the model's device.
    """
    mus, ys = sample_codes(dataset, model, num_train, rng)
    if continuous_factors:
        matrix = _squared_correlation(mus.astype(np.float64), ys.astype(np.float64))
    else:
        mus_test, ys_test = sample_codes(dataset, model, num_test, rng)
        if solver == "scikit-learn":
            rows = Parallel(n_jobs=n_jobs, prefer="threads")(
                delayed(_accuracy_row)(mus[:, i], ys, mus_test[:, i], ys_test) for i in range(mus.shape[1])
            )
        else:
            fits = fit_one_feature_svc(mus, ys, C=0.01, class_weight="balanced", device=model.device)
            alone = mus_test.T[:, :, None]  # each latent as a one-feature design
            rows = [[np.mean(f.predict(x) == y) for f, y in zip(row, ys_test.T)] for row, x in zip(fits, alone)]
        matrix = np.array(rows)
    top_two = np.sort(matrix, axis=0)[::-1][:2]
    return {"sap": float(np.mean(top_two[0] - top_two[1])), "score_matrix": matrix}
