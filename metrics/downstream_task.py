"""``downstream_task``: how well simple classifiers learn each factor from the codes, and from how
few labels (Locatello et al. 2019, §5.4; disentanglement_lib
``evaluation/metrics/downstream_task.py``).

For each training size ``n`` of ``num_train`` (the study's 10, 100, 1,000 and 10,000), ``n``
images and then ``num_test`` fresh ones are drawn uniformly and encoded; each predictor learns
every factor (or label) from the ``n`` codes and is scored by its accuracy on both sets.  The
study ran both predictors as two evaluations from the same seed, so on the same draws; here they
share the draws in one evaluation.  Outputs, named as disentanglement_lib names them with the
predictor in front: ``<predictor>:<n>:mean_test_accuracy`` (the mean over factors),
``…:min_test_accuracy`` and the same for the training set, and ``<predictor>:sample_efficiency``,
the accuracy at 100 divided by the accuracy at 10,000 (the study's statistical efficiency, when
both sizes are trained).  Per-factor accuracies are artifacts (``<predictor>_test_accuracy``:
sizes × factors).

Predictors: ``logistic_regression`` is scikit-learn's ``LogisticRegressionCV(Cs=10,
cv=KFold(5))``; ``compat`` fits it as scikit-learn ≤ 0.21 did (lbfgs, one binary problem per
class, 100 iterations), ``default`` as today's scikit-learn does (multinomial), given 1,000
iterations to converge; every factor's problems are fitted together by
:mod:`benchbench.plugin.logistic` (``solver = "batched"``) or by scikit-learn one after another.
``boosted_trees`` is ``GradientBoostingClassifier()`` with its defaults,
grown by :mod:`benchbench.plugin.boosting` as in DCI (a factor with one value in a tiny training set is
predicted as that value, where scikit-learn would refuse to fit).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from benchbench.api import (
    COUNT,
    Mode,
    Shown,
    Solver,
    Ties,
    better,
    bounds,
    defined_by,
    execution,
    fit_classifiers,
    fit_logistic_cv,
    fit_one_vs_rest_cv,
    introduced,
    metrics,
    profiles,
    sample_codes,
    shown_as,
    tie_seed,
)

Predictor = Literal["logistic_regression", "boosted_trees"]
PREDICTORS = ["logistic_regression", "boosted_trees"]  # the study's two (defaults are never mutated)
STUDY_SIZES = [10, 100, 1000, 10_000]
MAX_ITER = {"compat": 100, "default": 1000}  # scikit-learn's default then; room to converge now


def logistic_regression_cv(mode: Mode):
    """disentanglement_lib's ``logistic_regression_cv`` predictor, as scikit-learn fits it in ``mode``."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold
    from sklearn.multiclass import OneVsRestClassifier

    study = {"Cs": 10, "cv": KFold(n_splits=5), "scoring": "accuracy"}  # the scoring is the default, written out
    study["max_iter"] = MAX_ITER[mode]
    if mode == "compat":
        return OneVsRestClassifier(LogisticRegressionCV(**study))
    return LogisticRegressionCV(**study)


def scikit_learn_fit(x_train, y_train, mode: Mode):
    """The predictor fitted by scikit-learn itself (what every evaluation made before ``solver``
    computed)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    model = logistic_regression_cv(mode)
    with warnings.catch_warnings(), threadpool_limits(1):  # small products: threads only contend (2× slower)
        warnings.simplefilter("ignore", ConvergenceWarning)  # compat keeps the study's 100 iterations
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's notice of its fitted attributes' rename
        return model.fit(x_train, y_train)


def regression_accuracies(
    x_train, y_train, x_test, y_test, mode: Mode, solver: Solver = "batched", device=None
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test accuracy per factor of a cross-validated logistic regression per factor."""
    learnt = [j for j in range(y_train.shape[1]) if np.unique(y_train[:, j]).size > 1]
    if solver == "scikit-learn":
        models = [scikit_learn_fit(x_train, y_train[:, j], mode) for j in learnt]
    else:
        fit = fit_one_vs_rest_cv if mode == "compat" else fit_logistic_cv
        models = fit(x_train, y_train[:, learnt], max_iter=MAX_ITER[mode], device=device)
    fitted = dict(zip(learnt, models))
    train, test = [], []
    for j in range(y_train.shape[1]):
        if j not in fitted:  # nothing to learn: every training label is this one
            train.append(1.0), test.append(float(np.mean(y_test[:, j] == y_train[0, j])))
            continue
        train.append(float(np.mean(fitted[j].predict(x_train) == y_train[:, j])))
        test.append(float(np.mean(fitted[j].predict(x_test) == y_test[:, j])))
    return np.array(train), np.array(test)


def tree_accuracies(x_train, y_train, x_test, y_test, device, tie_seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Train and test accuracy per factor of boosted trees, every factor's grown at once; tied
    splits broken at random from ``tie_seed`` (else at the lowest latent)."""
    fits = fit_classifiers(x_train, y_train, x_test, device=device, tie_seed=tie_seed)
    train = [np.mean(f.train_prediction == y) for f, y in zip(fits, y_train.T)]
    test = [np.mean(f.test_prediction == y) for f, y in zip(fits, y_test.T)]
    return np.array(train, dtype=np.float64), np.array(test, dtype=np.float64)


def summarise(predictor: str, sizes: list[int], train: np.ndarray, test: np.ndarray) -> dict:
    """disentanglement_lib's scalars for one predictor (``train``/``test``: sizes × factors)."""
    out = {}
    for n, tr, te in zip(sizes, train, test):
        out.update(
            {
                f"{predictor}:{n}:mean_train_accuracy": float(np.mean(tr)),
                f"{predictor}:{n}:mean_test_accuracy": float(np.mean(te)),
                f"{predictor}:{n}:min_train_accuracy": float(np.min(tr)),
                f"{predictor}:{n}:min_test_accuracy": float(np.min(te)),
            }
        )
    if 100 in sizes and 10_000 in sizes:
        means = test.mean(axis=1)
        out[f"{predictor}:sample_efficiency"] = float(means[sizes.index(100)] / means[sizes.index(10_000)])
    return out


@metrics.register("downstream_task")
@defined_by("Locatello et al. 2019, §5.4; disentanglement_lib evaluation/metrics/downstream_task.py")
@better(
    **{f"{p}:{n}:mean_test_accuracy": "higher" for p in PREDICTORS for n in STUDY_SIZES},
    **{f"{p}:sample_efficiency": "higher" for p in PREDICTORS},
)
@shown_as(
    **{
        f"{p}:{n}:mean_test_accuracy": Shown(f"{p.replace('_', ' ')} at {n:,} labels, test accuracy", to_percent=100)
        for p in PREDICTORS
        for n in STUDY_SIZES
    },
    **{f"{p}:sample_efficiency": f"{p.replace('_', ' ')} sample efficiency" for p in PREDICTORS},
)
@bounds(num_train=COUNT, num_test=COUNT)
@profiles(fast={"num_train": [10, 100, 1000], "num_test": 1000})
@execution("device")
@introduced(solver="scikit-learn")
def downstream_task(
    dataset,
    model,
    rng,
    *,
    num_train: list[int] = STUDY_SIZES,
    num_test: int = 5000,
    predictors: list[Predictor] = PREDICTORS,
    mode: Mode = "default",
    ties: Ties = "random",
    solver: Solver = "batched",
    device: str | None = None,
):
    """Accuracy of logistic regression and boosted trees predicting each factor from 10 … 10,000 labelled codes.

    ``ties``: how the trees break a split tied between latents — ``random``, from the metric's
    stream (after its draws), as scikit-learn's unseeded trees do in disentanglement_lib; or
    ``lowest``, the lowest latent (what evaluations made before this option computed).
    ``solver``: who fits the logistic regressions — ``batched``, every factor's folds at once
    by :mod:`benchbench.plugin.logistic` (the same problems, run to their stop by a
    Hessian-preconditioned L-BFGS), or ``scikit-learn`` one after another (what evaluations
    made before this option computed).
    ``device``: where the trees grow and the batched regressions run; by default the model's, else the CPU.
    """
    device = device or model.device
    draws = []
    for n in num_train:  # disentanglement_lib's order: each size's training draw, then its test draw
        draws.append((*sample_codes(dataset, model, n, rng), *sample_codes(dataset, model, num_test, rng)))
    tie_seeds = [tie_seed(ties, rng) for _ in draws]
    out, arrays = {}, {}
    for predictor in dict.fromkeys(predictors):
        scores = [
            regression_accuracies(*draw, mode, solver, device)
            if predictor == "logistic_regression"
            else tree_accuracies(*draw, device, seed)
            for draw, seed in zip(draws, tie_seeds)
        ]
        train, test = (np.stack(s) for s in zip(*scores))
        out.update(summarise(predictor, list(num_train), train, test))
        arrays.update({f"{predictor}_train_accuracy": train, f"{predictor}_test_accuracy": test})
    return {**out, **arrays}
