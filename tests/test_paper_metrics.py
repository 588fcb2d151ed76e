"""The seed's own metrics: Table 2's attribute classifier and Tables 3–4's correlations."""

import numpy as np
import pytest
from metrics_helpers import hinge_loss
from toy import Adapter, ToyFactors, ToyLabels, factors_plus_noise

from benchbench.core.registry import metrics
from benchbench.metrics.attribute_accuracy import hinge_bias
from benchbench.plugin.metric import MetricNotApplicable


def test_hinge_bias_hand_worked_case():
    # positives at s = 3, 4; negatives at s = -3, 0: the loss is 0 exactly on b ∈ [-2, -1]
    s, y = np.array([3.0, 4.0, -3.0, 0.0]), np.array([1.0, 1.0, -1.0, -1.0])
    assert hinge_bias(s, y) == -2.0
    assert hinge_loss(s, y, -2.0) == 0.0 and hinge_loss(s, y, -1.0) == 0.0 and hinge_loss(s, y, -0.9) > 0


def test_hinge_bias_is_the_global_minimum():
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = rng.normal(size=200) * 2
        y = np.where(rng.random(200) < 0.3 + 0.4 * (s > 0), 1.0, -1.0)
        b = hinge_bias(s, y)
        grid = np.linspace(-10, 10, 20001)
        assert hinge_loss(s, y, b) <= min(hinge_loss(s, y, g) for g in grid) + 1e-9


def test_attribute_accuracy_closed_form():
    data = ToyLabels(n=3000, k=4)
    # μ = 3·labels + small noise: w_k ≈ 3 e_k, projections ≈ 9·label, so the hinge loss is 0 for
    # b ∈ [-8, -1] and the lowest minimiser, b = -8, classifies every image correctly
    noisy = factors_plus_noise(0.05).fn
    result = metrics.get("attribute_accuracy")(data, Adapter(lambda x: 3 * noisy(x)), np.random.default_rng(0))
    assert [result[f"attr{k}"] for k in range(4)] == [100.0] * 4 and result["mean"] == 100.0
    # a representation blind to the labels predicts the majority class (70 %) at best
    blind = metrics.get("attribute_accuracy")(
        data, Adapter(lambda x: np.random.default_rng(0).normal(size=x.shape)), np.random.default_rng(0)
    )
    majority = 100 * np.mean(data.labels[data.test_indices] == 0, axis=0)
    assert all(blind[f"attr{k}"] <= majority[k] + 5 for k in range(4))
    with pytest.raises(MetricNotApplicable):
        metrics.get("attribute_accuracy")(ToyFactors(), factors_plus_noise(), np.random.default_rng(0))


def test_latent_correlation_against_numpy():
    data = ToyFactors(sizes=(8, 10, 12, 6))  # 576 test images
    mix = np.array([[1.0, 0.5, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    model = Adapter(lambda x: x @ mix)
    out = metrics.get("latent_correlation")(data, model, np.random.default_rng(0))
    mus = data.images_at(data.test_indices).reshape(-1, 4) @ mix
    labels = data.index_to_factors(data.test_indices)
    np.testing.assert_allclose(out["latent_latent"], np.corrcoef(mus.T), atol=1e-10)
    np.testing.assert_allclose(out["latent_factor"], np.corrcoef(mus.T, labels.T)[:4, 4:], atol=1e-10)
    off = np.abs(np.corrcoef(mus.T)[~np.eye(4, dtype=bool)]).mean()
    assert out["mean_abs_offdiag"] == pytest.approx(off)
    assert out["best_abs_corr.c"] == pytest.approx(1.0) and out["gap.c"] > 0.8
    assert out["top_latent"][2:].tolist() == [2, 3]  # c and d each have their own latent
    assert out["top_others"].shape == (4, 3)  # 4 factors: at most 3 others
