"""The one-feature linear SVM against scikit-learn's ``LinearSVC`` run to the optimum of the same
problem, and its minimum against the objective written out independently."""

import warnings

import numpy as np
import pytest
from sklearn.svm import LinearSVC

from benchbench.plugin.linear_svm import fit_one_feature_svc


def _data(rows=400, seed=0):
    """Four features (one falling with the classes, one constant, one tied in runs) and targets of
    two (labelled 3 and 9), three and seven classes (one of them rare)."""
    rng = np.random.default_rng(seed)
    ys = np.stack(
        [
            np.where(rng.random(rows) < 0.3, 9, 3),
            rng.integers(0, 3, rows),
            np.minimum(rng.integers(0, 7, rows), np.where(rng.random(rows) < 0.05, 6, 5)),
        ],
        axis=1,
    )
    signal = ys[:, 1] + ys[:, 2] / 3 + (ys[:, 0] == 9)
    x = np.stack(
        [signal + rng.normal(size=rows), -2 * signal + rng.normal(size=rows), np.full(rows, 0.7), np.round(signal)],
        axis=1,
    )
    return x, ys


def _objective_gradient(x, y, classes, a, b, c, balanced, positive_class, multi):
    """∇ of ½(a² + b²) + Σ Cᵢ max(0, 1 − yᵢ(a·xᵢ + b))², written out from liblinear's definition,
    and the size of its terms (the scale its rounding is measured against)."""
    counts = np.array([np.sum(y == k) for k in classes])
    weight = dict(zip(classes, len(y) / (len(classes) * counts) if balanced else np.ones(len(classes))))
    sign = np.where(y == positive_class, 1.0, -1.0)
    cost = np.array([c * weight[v] if (v == positive_class or not multi) else c for v in y])
    slack = np.maximum(0.0, 1 - sign * (a * x + b))
    terms = 2 * cost * slack * sign
    scale = abs(a) + abs(b) + np.sum(np.abs(terms) * (np.abs(x) + 1))
    return np.array([a - np.sum(terms * x), b - np.sum(terms)]), scale


@pytest.mark.parametrize("balanced", [True, False])
def test_it_fits_what_linear_svc_fits_at_the_optimum(balanced):
    x, ys = _data()
    class_weight = "balanced" if balanced else None
    fits = fit_one_feature_svc(x, ys, C=0.01 if balanced else 0.3, class_weight=class_weight)
    for g in range(x.shape[1]):
        for t in range(ys.shape[1]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = LinearSVC(C=0.01 if balanced else 0.3, class_weight=class_weight, tol=1e-12, max_iter=100_000)
                theirs.fit(x[:, g : g + 1], ys[:, t])
            ours = fits[g][t]
            assert np.array_equal(ours.classes, theirs.classes_)
            np.testing.assert_allclose(ours.coef, theirs.coef_, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(ours.intercept, theirs.intercept_, rtol=1e-6, atol=1e-8)
            assert np.array_equal(ours.predict(x[:, g : g + 1]), theirs.predict(x[:, g : g + 1]))


def test_each_problem_ends_at_the_minimum_of_its_objective():
    x, ys = _data(rows=300, seed=1)
    fits = fit_one_feature_svc(x, ys, C=0.05, class_weight="balanced")
    for g in range(x.shape[1]):
        for t, y in enumerate(ys.T):
            fit = fits[g][t]
            multi = len(fit.classes) > 2
            positives = fit.classes if multi else fit.classes[1:]
            for row, k in enumerate(positives):
                grad, scale = _objective_gradient(
                    x[:, g], y, fit.classes, fit.coef[row, 0], fit.intercept[row], 0.05, True, k, multi
                )
                assert np.abs(grad).max() <= 1e-12 * scale


def test_codes_with_a_nan_are_refused_as_scikit_learn_refuses_them():
    from benchbench.plugin.logistic import fit_logistic

    x, ys = _data(rows=50)
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_one_feature_svc(x, ys, C=0.01)
    with pytest.raises(ValueError, match="NaN"):
        fit_logistic(x, ys)


def test_a_target_of_one_class_is_refused_as_scikit_learn_refuses_it():
    from benchbench.plugin.logistic import fit_logistic

    x, ys = _data(rows=50)
    ys[:, 1] = 2
    with pytest.raises(ValueError, match="two classes"):
        fit_one_feature_svc(x, ys, C=0.01)
    with pytest.raises(ValueError, match="two classes"):
        fit_logistic(x, ys)
