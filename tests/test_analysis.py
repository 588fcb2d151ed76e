"""The run's statistics against hand-worked cases and scipy's own estimators."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from benchbench.report.analysis import RESAMPLES, SEED, bootstrap_interval, in_words, metric_agreement, superiority
from benchbench.report.results import aggregate


def test_bootstrap_interval_replays_its_definition_and_refuses_two_seeds():
    x = np.array([0.61, 0.55, 0.70, 0.58, 0.66])
    rng = np.random.default_rng(SEED)
    means = [x[rng.integers(0, 5, size=5)].mean() for _ in range(RESAMPLES)]  # one resample at a time
    assert bootstrap_interval(x) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])), abs=1e-15)
    assert bootstrap_interval([0.4, 0.4, 0.4]) == pytest.approx((0.4, 0.4), abs=1e-15)
    assert all(math.isnan(v) for v in bootstrap_interval([1.0, np.nan, 2.0]))  # two values: no interval
    big = np.random.default_rng(1).normal(size=40)
    scipy_ci = scipy.stats.bootstrap((big,), np.mean, method="percentile", random_state=2).confidence_interval
    assert bootstrap_interval(big) == pytest.approx((scipy_ci.low, scipy_ci.high), abs=0.03)


def test_superiority_by_hand_and_as_scipys_exact_mann_whitney():
    assert superiority([1, 2, 3], [4, 5, 6]) == (0.0, pytest.approx(2 / 20))  # 20 splits, two as extreme
    assert superiority([1, 2, 3], [4, 5, 6], higher=False) == (1.0, pytest.approx(0.1))
    assert superiority([1, 2], [2, 3])[0] == 0.5 / 4  # the tie counts a half
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.normal(size=5), rng.normal(0.8, size=6)
        p_better, p = superiority(a, b)
        exact = scipy.stats.mannwhitneyu(a, b, method="exact", alternative="two-sided")
        assert p_better == exact.statistic / 30 and p == pytest.approx(exact.pvalue, abs=1e-12)
    assert all(math.isnan(v) for v in superiority([], [1.0]))


def test_comparisons_are_said_in_one_sentence():
    p_better, p = superiority([48.0, 50.1, 47.2], [44.0, 46.3, 49.0])
    said = in_words("VAE", "β-VAE", "the Higgins score", p_better, p, 3, 3)
    assert said.startswith("VAE and β-VAE are not distinguishable on the Higgins score with n = 3 and 3")
    p_better, p = superiority(np.arange(10.0), np.arange(10.0) + 20)
    assert in_words("A", "B", "MIG", p_better, p, 10, 10).startswith("B scores better on MIG (n = 10 and 10")


def test_metric_agreement_is_spearmans_rank_correlation():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(12, 3)), columns=["a.x", "b.y", "c.z"])
    table.loc[3, "c.z"] = np.nan
    found = metric_agreement(table, ["a.x", "b.y", "c.z"])
    assert found.loc["a.x", "b.y"] == pytest.approx(scipy.stats.spearmanr(table["a.x"], table["b.y"])[0], abs=1e-12)
    both = table.dropna()
    assert found.loc["a.x", "c.z"] == pytest.approx(scipy.stats.spearmanr(both["a.x"], both["c.z"])[0], abs=1e-12)


def test_aggregate_carries_each_means_interval():
    table = pd.DataFrame(
        {"dataset": "d", "method": "vae", "variant": "VAE", "label": ["VAE"] * 3 + ["B"] * 2, "seed": [0, 1, 2, 0, 1],
         "status": "trained", "mig.mig": [0.1, 0.2, 0.3, 0.5, 0.6]}
    )  # fmt: skip
    agg = aggregate(table).set_index("label")
    assert (agg.at["VAE", "mig.mig.ci_low"], agg.at["VAE", "mig.mig.ci_high"]) == bootstrap_interval([0.1, 0.2, 0.3])
    assert math.isnan(agg.at["B", "mig.mig.ci_low"])


def test_variance_shares_are_a_one_way_anova_by_configuration():
    """Two configurations, two seeds each: a hand-worked split of the sums of squares."""
    from benchbench.report.analysis import variance_shares

    table = pd.DataFrame(
        {"dataset": "d", "method": "beta_vae", "label": ["b1", "b1", "b4", "b4"], "status": "trained",
         "mig.mig": [1.0, 3.0, 5.0, 7.0]}
    )  # fmt: skip
    (row,) = variance_shares(table, "d", ["mig.mig"]).to_dict("records")
    # grand mean 4; total 9+1+1+9 = 20; between 2·(2−4)² + 2·(6−4)² = 16
    assert (row["between"], row["within"], row["configurations"]) == (pytest.approx(0.8), pytest.approx(0.2), 2)
    table["mig.mig"] = 2.0
    assert math.isnan(variance_shares(table, "d", ["mig.mig"])["between"].item())
    groups = [np.array([1.0, 3.0]), np.array([5.0, 7.0])]
    f = scipy.stats.f_oneway(*groups).statistic  # F = (SSB/1)/(SSW/2) = 16/(4/2)
    assert f == pytest.approx((0.8 * 20 / 1) / (0.2 * 20 / 2))


def test_trend_is_spearmans_rho_with_scipys_exact_one_sided_permutation_p():
    from benchbench.report.analysis import trend

    x, y = [1, 1, 4, 4, 60, 60], [0.10, 0.12, 0.20, 0.15, 0.30, 0.31]
    rho, p, floor = trend(x, y)
    exact = scipy.stats.permutation_test(
        (y,), lambda v: scipy.stats.spearmanr(x, v).statistic, permutation_type="pairings",
        alternative="greater", n_resamples=np.inf,
    )  # fmt: skip
    assert rho == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert p == pytest.approx(exact.pvalue, abs=1e-12) and floor == pytest.approx(exact.pvalue, abs=1e-12)
    assert trend([1, 2, 3], [3, 2, 1])[1] == 1.0 and trend([1, 2, 3], [1, 2, 3])[2] == pytest.approx(1 / 6)
    assert all(math.isnan(v) for v in trend([1, 1], [2, 3]))  # one β: no trend to test


def test_smallest_p_is_the_most_extreme_split_of_the_exact_test():
    from benchbench.report.analysis import smallest_p

    for n_a, n_b in [(1, 1), (3, 3), (4, 4), (3, 5)]:
        separated = superiority(np.arange(n_a) + 100.0, np.arange(n_b))[1]
        assert smallest_p(n_a, n_b) == pytest.approx(separated, abs=1e-12)
    assert smallest_p(3, 3) > 0.05 > smallest_p(4, 4)
