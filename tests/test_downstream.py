"""The study's downstream tasks: disentanglement_lib's ``compute_downstream_task`` replayed with
scikit-learn's own estimators on the same draws, and representations with known answers."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from toy import ToyFactors, ToyLabels, factors_plus_noise, pure_noise

from benchbench.core.registry import metrics
from benchbench.metrics.downstream_task import summarise
from benchbench.plugin.representation import sample_codes

STUDY_CV = {"Cs": 10, "cv": KFold(5)}  # disentanglement_lib's logistic_regression_cv
TO_OPTIMUM = {"tol": 1e-10, "max_iter": 10**4}


def _reference(dataset, model, seed, sizes, num_test, predictor):
    """disentanglement_lib's loop: per size, a training draw then a test draw; one classifier per
    factor, accuracy on both (``_compute_loss``)."""
    rng, train, test = np.random.default_rng(seed), [], []
    for n in sizes:
        x, y = sample_codes(dataset, model, n, rng)
        xt, yt = sample_codes(dataset, model, num_test, rng)
        tr, te = [], []
        for j in range(y.shape[1]):
            clf = predictor().fit(x, y[:, j])
            tr.append(np.mean(clf.predict(x) == y[:, j])), te.append(np.mean(clf.predict(xt) == yt[:, j]))
        train.append(tr), test.append(te)
    return np.array(train), np.array(test)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "predictor, mode, reference, atol, solver",
    [
        # scikit-learn breaks exactly tied splits between features at random, and so does the metric
        # (from its stream): training accuracies equal, test ones within 4 of 60 points — scikit-learn
        # against itself, random_state 0 to 5, differs by up to 4 here
        ("boosted_trees", "default", lambda: GradientBoostingClassifier(random_state=0), 4 / 60 + 1e-12, "batched"),
        pytest.param(  # the solver of the records made before the batched one: in the full suite only
            "logistic_regression",
            "default",
            lambda: LogisticRegressionCV(**STUDY_CV, max_iter=1000),
            0,
            "scikit-learn",
            marks=pytest.mark.slow,
        ),
        # the batched solver, against scikit-learn run to the optimum both stop near: equal
        ("logistic_regression", "default", lambda: LogisticRegressionCV(**STUDY_CV, **TO_OPTIMUM), 0, "batched"),
        pytest.param(  # one-vs-rest cross-validated fits: the slowest replay, in the full suite only
            "logistic_regression",
            "compat",
            lambda: OneVsRestClassifier(LogisticRegressionCV(**STUDY_CV)),
            0,
            "scikit-learn",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_accuracies_replay_disentanglement_lib_on_the_same_draws(predictor, mode, reference, atol, solver):
    data, model, sizes = ToyFactors(), factors_plus_noise(0.3), [20, 150]
    options = {"num_train": sizes, "num_test": 60, "predictors": [predictor], "mode": mode, "solver": solver}
    out = metrics.get("downstream_task")(data, model, np.random.default_rng(4), **options)
    model = factors_plus_noise(0.3)  # the same noise stream again
    train, test = _reference(data, model, 4, sizes, 60, reference)
    np.testing.assert_allclose(out[f"{predictor}_train_accuracy"], train)
    np.testing.assert_allclose(out[f"{predictor}_test_accuracy"], test, rtol=0, atol=atol)
    assert out[f"{predictor}:150:mean_test_accuracy"] == pytest.approx(out[f"{predictor}_test_accuracy"][1].mean())
    assert out[f"{predictor}:20:min_train_accuracy"] == pytest.approx(train[0].min())


def test_the_study_scalars_and_sample_efficiency_by_hand():
    train = np.array([[1.0, 0.5], [1.0, 1.0], [0.9, 0.7], [0.8, 0.8]])
    test = np.array([[0.2, 0.4], [0.5, 0.7], [0.6, 0.8], [0.7, 0.9]])
    out = summarise("p", [10, 100, 1000, 10_000], train, test)
    assert out["p:10:mean_test_accuracy"] == pytest.approx(0.3)
    assert out["p:1000:min_train_accuracy"] == pytest.approx(0.7)
    assert out["p:sample_efficiency"] == pytest.approx(0.6 / 0.8)  # accuracy at 100 / at 10,000
    assert "p:sample_efficiency" not in summarise("p", [10, 100], train[:2], test[:2])


def test_codes_that_are_the_factors_are_learned_and_noise_is_not():
    data = ToyFactors()
    options = {"num_train": [100, 1000], "num_test": 300}
    good = metrics.get("downstream_task")(data, factors_plus_noise(0.001), np.random.default_rng(0), **options)
    bad = metrics.get("downstream_task")(data, pure_noise(), np.random.default_rng(0), **options)
    for predictor in ("logistic_regression", "boosted_trees"):
        assert good[f"{predictor}:1000:mean_test_accuracy"] > 0.95
        assert bad[f"{predictor}:1000:mean_test_accuracy"] < 0.4  # chance: 1/4, 1/5, 1/6, 1/3


def test_labelled_data_and_a_one_valued_factor_in_a_tiny_training_set():
    out = metrics.get("downstream_task")(
        ToyLabels(), factors_plus_noise(0.01), np.random.default_rng(1), num_train=[10, 50], num_test=100
    )
    assert out["logistic_regression:50:mean_test_accuracy"] == pytest.approx(1.0)
    assert out["boosted_trees_test_accuracy"].shape == (2, 5)
    assert np.all((out["logistic_regression_test_accuracy"] >= 0) & (out["logistic_regression_test_accuracy"] <= 1))


def test_the_overview_shows_the_study_sizes_and_sample_efficiency():
    from benchbench.metrics.downstream_task import PREDICTORS, STUDY_SIZES
    from benchbench.plugin.metric import declared_directions
    from benchbench.report.results import headline_outputs

    accuracies = np.full((4, 5), 0.5)
    names = [k for p in PREDICTORS for k in summarise(p, STUDY_SIZES, accuracies, accuracies)]
    shown = headline_outputs(
        [f"downstream_task.{k}" for k in names], {"downstream_task": declared_directions("downstream_task")}
    )
    study = [f"{p}:{n}:mean_test_accuracy" for p in PREDICTORS for n in STUDY_SIZES]
    assert {s.removeprefix("downstream_task.") for s in shown} == {
        *study,
        *(f"{p}:sample_efficiency" for p in PREDICTORS),
    }
