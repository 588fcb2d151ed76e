"""Fairness against disentanglement_lib's own unit-test cases, and on representations whose
fairness is known: factors themselves are fair, a code mixing two factors is not."""

import numpy as np
import pytest
from toy import Adapter, ToyFactors, ToyLabels, factors_plus_noise

from benchbench.core.registry import metrics
from benchbench.metrics.fairness import inter_group_fairness, summaries
from benchbench.plugin.metric import MetricNotApplicable


def test_disentanglement_libs_inter_group_case():
    # pooled 1/3 : 2/3; the groups 0 : 1 and 1/2 : 1/2, at distances 1/3 and 1/6; weighted mean 2/9
    mean, worst = inter_group_fairness(np.array([[0, 100], [100, 100]]))
    assert mean == pytest.approx(2 / 9, rel=1e-12) and worst == pytest.approx(1 / 3, rel=1e-12)


def test_disentanglement_libs_summary_case():
    scores = np.array([[0.0, 2.0, 4.0], [4.0, 0.0, 8.0], [2.0, 10.0, 0.0]])
    expected = {  # the reference test's "All scores", same names
        "test:mean_sens:mean_pred": 5.0,
        "test:mean_sens:max_pred": 22.0 / 3.0,
        "test:max_sens:mean_pred": 6.0,
        "test:max_sens:max_pred": 10.0,
        "test:mean_pred:mean_sens": 5.0,
        "test:mean_pred:max_sens": 22.0 / 3.0,
        "test:max_pred:mean_sens": 6.0,
        "test:max_pred:max_sens": 10.0,
    }
    assert summaries(scores, "test") == pytest.approx(expected, rel=1e-12)


def _fairness(model, dataset=None, seed=0):
    options = {"num_train": 2000, "num_test_points_per_class": 60}
    return metrics.get("fairness")(dataset or ToyFactors(), model, np.random.default_rng(seed), **options)


def test_factor_codes_are_fair_and_a_code_mixing_two_factors_is_not():
    fair = _fairness(factors_plus_noise())
    assert fair["mean_fairness:mean_pred:mean_sens"] == 0 and fair["max_fairness:max_pred:max_sens"] == 0
    # factors a and b only as a + b: a's classifier's predictions move when b is set
    mixed = _fairness(Adapter(lambda x: np.c_[x[:, 0] + x[:, 1], x[:, 2:]]))
    matrix = mixed["mean_fairness_matrix"]
    assert matrix[0, 1] > 0.03 and matrix[0, 1] == matrix.max()  # target a, sensitive b: the most unfair
    assert matrix[1, 0] > 0 and matrix[2:].max() == 0  # b through a too; c and d stay fair
    assert mixed["mean_fairness:mean_pred:mean_sens"] == pytest.approx(matrix[~np.eye(4, dtype=bool)].mean())
    assert np.all(np.diag(matrix) == 0)
    with pytest.raises(MetricNotApplicable, match="ground-truth factors"):
        _fairness(factors_plus_noise(), ToyLabels(n=500, k=3))
