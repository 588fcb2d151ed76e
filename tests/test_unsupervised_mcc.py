"""The study's unsupervised scores and MCC: disentanglement_lib's own unit-test cases replayed,
closed forms, and representations with known answers."""

import numpy as np
import pytest
import scipy.linalg
from toy import Adapter, ToyFactors, ToyLabels, factors_plus_noise, pure_noise, rotated

from benchbench.core.registry import metrics
from benchbench.metrics.unsupervised import gaussian_total_correlation, gaussian_wasserstein_correlation

CORRELATED = np.array([[1, 0.9], [0.9, 1.0]])


def _kl_gaussians(mean_0, cov_0, mean_1, cov_1):
    """KL(N₀ ‖ N₁) by its textbook formula with determinants and an inverse (disentanglement_lib's
    ``kl_gaussians_numerically_unstable``, the test's yardstick)."""
    inv_1 = np.linalg.inv(cov_1)
    diff = mean_1 - mean_0
    k = len(mean_0)
    return 0.5 * (
        np.trace(inv_1 @ cov_0) + diff @ inv_1 @ diff - k + np.log(np.linalg.det(cov_1) / np.linalg.det(cov_0))
    )


def test_gaussian_scores_replay_disentanglement_libs_unit_tests():
    identity = np.eye(5)
    assert gaussian_total_correlation(identity) == pytest.approx(0, abs=1e-12)
    assert gaussian_wasserstein_correlation(identity) == pytest.approx(0, abs=1e-12)
    zero = np.zeros(2)
    expected = _kl_gaussians(zero, CORRELATED, zero, np.diag(np.diag(CORRELATED)))
    assert gaussian_total_correlation(CORRELATED) == pytest.approx(expected, rel=1e-12)
    assert gaussian_total_correlation(CORRELATED) == pytest.approx(-0.5 * np.log(1 - 0.81), rel=1e-12)
    diagonal = np.diag(np.diag(CORRELATED))
    expected = np.trace(CORRELATED + diagonal - 2 * scipy.linalg.sqrtm(CORRELATED @ diagonal))
    assert gaussian_wasserstein_correlation(CORRELATED) == pytest.approx(expected, rel=1e-10)
    # W₂² between N(0, [[1, ρ], [ρ, 1]]) and N(0, I): 2·2 − 2·tr √Σ = 4 − 2(√(1+ρ) + √(1−ρ))
    assert gaussian_wasserstein_correlation(CORRELATED) == pytest.approx(
        4 - 2 * (np.sqrt(1.9) + np.sqrt(0.1)), rel=1e-10
    )


def _score(name, model, dataset=None, seed=0, num_train=4000):
    return metrics.get(name)(dataset or ToyFactors(), model, np.random.default_rng(seed), num_train=num_train)


def test_unsupervised_scores_of_independent_and_of_mixed_codes():
    independent = _score("unsupervised", factors_plus_noise())
    mixed = _score(
        "unsupervised", Adapter(lambda x: x @ np.array([[1.0, 0.8, 0, 0], [0, 0.6, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))
    )
    for output in ("gaussian_total_correlation", "gaussian_wasserstein_correlation_norm", "mutual_info_score"):
        assert independent[output] < 0.02 < mixed[output], output  # uniform factors are independent
    # codes (a, 0.8a + 0.6b): their correlation is 0.8/√(0.64 + 0.36·var b/var a); TC = −½ log(1 − ρ²)
    var = np.array([(s * s - 1) / 12 / (s - 1) ** 2 for s in (4, 5)])  # a factor's variance once scaled to [0, 1]
    rho = 0.8 * var[0] / np.sqrt(var[0] * (0.64 * var[0] + 0.36 * var[1]))
    assert mixed["gaussian_total_correlation"] == pytest.approx(-0.5 * np.log(1 - rho**2), rel=0.05)
    labelled = _score("unsupervised", factors_plus_noise(), dataset=ToyLabels(n=3000, k=5))  # no factors needed
    assert labelled["gaussian_total_correlation"] < 0.02


def test_unsupervised_matches_its_definition_on_the_same_codes():
    from benchbench.plugin.representation import encode, sample_indices
    from benchbench.plugin.stats import histogram_discretize

    model, data = factors_plus_noise(seed=3), ToyFactors()
    found = _score("unsupervised", factors_plus_noise(seed=3), seed=5)
    mus = encode(data, model, sample_indices(data, 4000, np.random.default_rng(5)), None)
    cov = np.cov(mus.T)
    bins = histogram_discretize(mus, 20)
    import sklearn.metrics

    pairs = [sklearn.metrics.mutual_info_score(bins[:, i], bins[:, j]) for i in range(4) for j in range(4) if i != j]
    assert found["mutual_info_score"] == pytest.approx(np.mean(pairs), rel=1e-10)
    assert found["gaussian_wasserstein_correlation_norm"] == pytest.approx(
        found["gaussian_wasserstein_correlation"] / np.trace(cov), rel=1e-12
    )


def _reference_mcc(x, y, method):
    """The authors' mean_corr_coef (ilkhem/icebeem ``metrics/mcc.py``), written out with numpy's
    and scipy's correlations."""
    from scipy.optimize import linear_sum_assignment
    from scipy.stats import spearmanr

    d = x.shape[1]
    cc = np.corrcoef(x, y, rowvar=False)[:d, d:] if method == "pearson" else spearmanr(x, y)[0][:d, d:]
    cc = np.abs(cc)
    return cc[linear_sum_assignment(-1 * cc)].mean()


def test_mcc_knows_its_answers():
    good = _score("mcc", factors_plus_noise())
    # Spearman ranks the noisy codes within a factor's tied value: below 1 even for the factors
    assert good["mcc_pearson"] > 0.99 and good["mcc_spearman"] > 0.95
    assert good["matched_latent_pearson"].tolist() == [0, 1, 2, 3]
    mixed = _score("mcc", rotated())
    assert mixed["mcc_pearson"] < good["mcc_pearson"] - 0.2  # each latent carries two factors
    assert _score("mcc", pure_noise())["mcc_pearson"] < 0.05


def test_mcc_scores_the_metric_path_exactly_as_the_reference():
    """The metric's own sample, re-drawn with the same seed, scored by the reference."""
    from benchbench.plugin.representation import sample_codes

    data, seed = ToyFactors(), 11
    found = _score("mcc", factors_plus_noise(scale=0.3, seed=1), seed=seed)
    mus, ys = sample_codes(data, factors_plus_noise(scale=0.3, seed=1), 4000, np.random.default_rng(seed))
    assert found["mcc_pearson"] == pytest.approx(_reference_mcc(mus, ys, "pearson"), rel=1e-10)
    assert found["mcc_spearman"] == pytest.approx(_reference_mcc(mus, ys, "spearman"), rel=1e-10)
    more = _score("mcc", Adapter(lambda x: np.c_[x, x[:, :2] * 0.5 + 0.1]))  # 6 latents, 4 factors
    assert len(more["matched_latent_pearson"]) == 4 and more["mcc_pearson"] > 0.99
