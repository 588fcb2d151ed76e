"""The batched cross-validated logistic regression against scikit-learn's own, each run to the
optimum of the same problem, and its parts against independent computations."""

import functools

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier

from benchbench.plugin import logistic
from benchbench.plugin.logistic import fit_logistic, fit_logistic_cv, fit_one_vs_rest, fit_one_vs_rest_cv, kfold

TIGHT = {"tol": 1e-10, "max_iter": 10_000}


def _data(rows=83, seed=0):
    """Codes with three targets: three classes, two classes, five classes (one of them rare)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    ys = np.stack(
        [
            np.digitize(x[:, 0] + 0.8 * rng.normal(size=rows), [-0.5, 0.5]),
            (x[:, 1] - x[:, 2] + rng.normal(size=rows) > 0).astype(int) * 7,  # two classes, labelled 0 and 7
            np.digitize(x[:, 3] + 0.5 * rng.normal(size=rows), [-1.5, -0.5, 0.5, 2.2]),
        ],
        axis=1,
    )
    return x, ys


@pytest.mark.parametrize("rows", [83, 40])
def test_kfold_holds_out_what_scikit_learns_kfold_does(rows):
    ours = kfold(rows, 5)
    theirs = [test for _, test in KFold(5).split(np.zeros(rows))]
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_every_target_equals_scikit_learn_run_to_the_optimum():
    x, ys = _data()
    fits = fit_logistic_cv(x, ys, **TIGHT)
    xt = np.random.default_rng(1).normal(size=(500, 4))
    for fit, y in zip(fits, ys.T, strict=True):
        ref = LogisticRegressionCV(Cs=10, cv=KFold(5), **TIGHT).fit(x, y)
        assert fit.C == ref.C_[0]
        np.testing.assert_array_equal(fit.classes, ref.classes_)
        # both stop where the objective no longer falls by 64 machine epsilons: near, not at, the optimum
        np.testing.assert_allclose(fit.coef, ref.coef_, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(fit.intercept, ref.intercept_, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(fit.predict(xt), ref.predict(xt))
    assert {len(f.classes) for f in fits} == {2, 3, 5}


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_one_vs_rest_equals_scikit_learns_run_to_the_optimum():
    x, ys = _data(rows=60, seed=3)
    xt = np.random.default_rng(2).normal(size=(400, 4))
    for fit, y in zip(fit_one_vs_rest_cv(x, ys, **TIGHT), ys.T, strict=True):
        ref = OneVsRestClassifier(LogisticRegressionCV(Cs=10, cv=KFold(5), **TIGHT)).fit(x, y)
        assert len(fit.fits) == len(ref.estimators_)  # one binary fit per class, one for two classes
        for ours, theirs in zip(fit.fits, ref.estimators_):
            assert ours.C == theirs.C_[0]
            np.testing.assert_allclose(ours.coef, theirs.coef_, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(fit.predict(xt), ref.predict(xt))


def _problem(c=3.0, rows=50, seed=0):
    x, ys = _data(rows=rows, seed=seed)
    problems = [(np.arange(rows), np.unique(y, return_inverse=True)[1], len(np.unique(y))) for y in ys.T]
    return x, ys, logistic._batch(x, problems, c, "cpu")


def _objective(x, y, c, w):
    """scikit-learn's objective, written out independently: mean log loss + ‖coef‖² / (2·C·n)."""
    rows, classes = len(x), int(y.max()) + 1
    xt = torch.as_tensor(x)
    z = xt @ w[:classes, :-1].T + w[:classes, -1]
    if classes == 2:  # binomial: one coefficient vector (class 1's)
        z = torch.stack([torch.zeros(rows, dtype=w.dtype), z[:, 1]], dim=1)
    loss = torch.nn.functional.cross_entropy(z, torch.as_tensor(y), reduction="mean")
    coef = w[1:2, :-1] if classes == 2 else w[:classes, :-1]
    return loss + (coef**2).sum() / (2 * c * rows)


@pytest.mark.parametrize("at", ["random coefficients", "random coefficients, rows in chunks", "zero"])
def test_loss_gradient_and_hessian_are_the_objectives(at, monkeypatch):
    """At zero the Hessian is the Kronecker product of the one class covariance and the codes'
    second moments (every row has the same probabilities), elsewhere it is summed over rows by
    unordered class and feature pairs (in chunks where they are many): both are
    autograd's Hessian of scikit-learn's objective."""
    if "chunks" in at:
        monkeypatch.setattr(logistic, "HESSIAN_PAIRS", 200)  # 50 rows: 4 of the 15 class pairs a chunk
    x, ys, batch = _problem()
    w = torch.as_tensor(np.random.default_rng(5).normal(size=tuple(batch.free.shape))) * batch.free
    if at == "zero":
        w = torch.zeros_like(w)
        np.testing.assert_allclose(batch._hessian_at_zero().numpy(), batch._hessian_on_rows(w).numpy(), atol=1e-14)
    loss, grad = batch.loss_gradient(w)
    factor = batch.hessian_factor(w)
    for b, y in enumerate(np.unique(column, return_inverse=True)[1] for column in ys.T):
        f = functools.partial(_objective, x, y, 3.0)
        wb = w[b].clone().requires_grad_(True)
        assert loss[b].item() == pytest.approx(f(wb).item(), rel=1e-12)
        expected = torch.autograd.grad(f(wb), wb)[0]
        np.testing.assert_allclose(grad[b].numpy(), expected.numpy(), atol=1e-12)
        hess = torch.autograd.functional.hessian(f, w[b]).reshape(grad[b].numel(), -1)
        free = batch.free[b].flatten().bool()
        ours = (factor[b] @ factor[b].T)[free][:, free]
        if len(np.unique(y)) > 2:  # the multinomial's flat direction got a unit curvature
            u = torch.zeros_like(batch.free[b])
            u[: len(np.unique(y)), -1] = 1.0
            u = u.flatten()[free] / u.norm()
            ours = ours - u[:, None] * u[None, :]
        np.testing.assert_allclose(ours.numpy(), hess[free][:, free].numpy(), atol=1e-10)


def test_minimise_stops_at_the_tolerance_near_scikit_learns_optimum():
    x, ys, batch = _problem(c=1e4, rows=80, seed=2)
    w, iterations = logistic.minimise(batch, torch.zeros_like(batch.free), tol=1e-4, max_iter=1000)
    loss, grad = batch.loss_gradient(w)
    assert grad.abs().amax().item() <= 1e-4 and (iterations > 0).all()
    assert logistic.minimise(batch, torch.zeros_like(batch.free), tol=1e-4, max_iter=1)[1].tolist() == [1, 1, 1]
    tight, _ = logistic.minimise(batch, torch.zeros_like(batch.free), **TIGHT)
    for b, y in enumerate(ys.T):  # run to the optimum it is scikit-learn's; stopped at 1e-4, nearly as low
        ref = LogisticRegression(C=1e4, **TIGHT).fit(x, y)
        k = len(ref.classes_)
        ours = tight[b, 1:2] if k == 2 else tight[b, :k]
        np.testing.assert_allclose(ours[:, :-1].numpy(), ref.coef_, rtol=1e-3, atol=1e-4)
        optimum = batch.take(torch.tensor([b])).loss_gradient(tight[b : b + 1])[0].item()
        assert optimum - 1e-12 <= loss[b].item() <= optimum + 1e-4  # a flat valley: the gap is ‖g‖·‖w − w*‖


def test_plain_fits_and_their_probabilities_are_scikit_learns_at_the_optimum():
    """``fit_logistic`` at one C is ``LogisticRegression(C)``, and with the intercept penalised one
    class against the rest is ``OneVsRestClassifier(LogisticRegression(solver="liblinear"))``:
    the same coefficients run to the optimum, so the same probabilities."""
    x, ys = _data()
    xt = np.random.default_rng(4).normal(size=(300, 4))
    for fit, y in zip(fit_logistic(x, ys, C=0.7, **TIGHT), ys.T, strict=True):
        ref = LogisticRegression(C=0.7, **TIGHT).fit(x, y)
        np.testing.assert_allclose(fit.coef, ref.coef_, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(fit.predict_proba(xt), ref.predict_proba(xt), atol=1e-5)
        np.testing.assert_allclose(fit.predict_proba(xt).sum(axis=1), 1.0, rtol=1e-12)
    for fit, y in zip(fit_one_vs_rest(x, ys, C=1.0, penalise_intercept=True, **TIGHT), ys.T, strict=True):
        ref = OneVsRestClassifier(LogisticRegression(solver="liblinear", tol=1e-10, max_iter=10_000)).fit(x, y)
        for ours, theirs in zip(fit.fits, ref.estimators_, strict=True):
            np.testing.assert_allclose(ours.intercept, theirs.intercept_, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(fit.predict_proba(xt), ref.predict_proba(xt), atol=1e-6)


def test_a_target_fits_the_same_beside_others_of_fewer_or_more_classes():
    """Targets of a few classes share a padded batch (two, three and five classes here, beside a
    twelve-class one in its own): each fits what it fits alone, padding and all."""
    x, ys = _data(rows=120, seed=5)
    many = np.digitize(x[:, 0] - x[:, 1], np.linspace(-2, 2, 11))  # twelve classes: its own batch
    ys = np.concatenate([ys, many[:, None]], axis=1)
    batches = logistic._class_count_batches([np.unique(y, return_inverse=True) for y in ys.T])
    assert [len(targets) for targets in batches] == [3, 1]
    together = fit_logistic(x, ys, C=0.7, **TIGHT)
    for j, fit in enumerate(together):
        (alone,) = fit_logistic(x, ys[:, j : j + 1], C=0.7, **TIGHT)
        np.testing.assert_array_equal(fit.classes, alone.classes)
        np.testing.assert_allclose(fit.coef, alone.coef, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(fit.intercept, alone.intercept, rtol=1e-6, atol=1e-6)
