"""IRS against disentanglement_lib's own unit-test cases and a float64 transcription of its
definition, written here as nested loops over factors, values and latents."""

import numpy as np
import pytest
from toy import Adapter, ToyFactors, ToyLabels, factors_plus_noise, rotated

from benchbench.core.registry import metrics
from benchbench.plugin.representation import sample_codes
from benchbench.plugin.stats import histogram_discretize


def _score(model, dataset=None, seed=0, **options):
    return metrics.get("irs")(dataset or ToyFactors(), model, np.random.default_rng(seed), num_train=3000, **options)


def _irs_by_hand(factors, latents, quantile=0.99):
    """Suter et al.'s score as disentanglement_lib's ``scalable_disentanglement_score`` defines it."""
    n, d = latents.shape
    weights = [max(abs(latents[r, j] - latents[:, j].mean()) for r in range(n)) for j in range(d)]
    scores = []
    for j in range(d):
        best = -np.inf
        for i in range(factors.shape[1]):
            values = sorted(set(factors[:, i].tolist()))
            total = 0.0
            for v in values:
                column = latents[factors[:, i] == v, j]
                total += np.percentile(np.abs(column - column.mean()), quantile * 100)
            best = max(best, 1 - total / len(values) / weights[j])
        scores.append(best)
    return float(np.average(scores, weights=weights))


def test_disentanglement_libs_cases_identity_scores_high_constant_scores_zero():
    identity = _score(Adapter(lambda x: x.astype(np.float64)))  # observations are the factors
    assert 0.9 <= identity["irs"] <= 1.0 and identity["num_active_dims"] == 4
    constant = _score(Adapter(lambda x: np.zeros_like(x, dtype=np.float64)))
    assert constant == {"irs": 0.0, "num_active_dims": 0.0}


@pytest.mark.parametrize("mode", ["default", "compat"])
def test_irs_is_its_definition_on_the_metrics_own_sample(mode):
    model = lambda: rotated(seed=4, scale=0.05)  # noqa: E731  (the same noise each time it is built)
    found = _score(model(), seed=8, mode=mode)
    mus, ys = sample_codes(ToyFactors(), model(), 3000, np.random.default_rng(8))
    factors = histogram_discretize(ys, 20) if mode == "compat" else ys
    assert found["irs"] == pytest.approx(_irs_by_hand(factors, mus), rel=1e-10)
    assert found["num_active_dims"] == (pytest.approx(mus.sum()) if mode == "compat" else 4)  # the reference's np.sum
    assert _score(factors_plus_noise())["irs"] > found["irs"] + 0.2  # each rotated latent follows two factors


def test_compat_bins_a_many_valued_factor_the_default_keeps_its_values():
    data = ToyFactors(sizes=(40, 2))  # 40 values: 20 histogram bins merge them in pairs
    model = Adapter(lambda x: x + 0.01 * np.random.default_rng(0).standard_normal(x.shape))
    default, compat = _score(model, data), _score(model, data, mode="compat")
    assert default["irs"] > compat["irs"]  # pairs of values in one group: a latent seems to move more
    labelled = _score(factors_plus_noise(), ToyLabels(n=3000, k=5))
    assert labelled["irs"] > 0.9  # labels group points as factors do


def test_the_groupwise_percentile_is_numpys_bit_for_bit():
    """IRS's percentile of each group (numpy's linear interpolation, without its per-call cost)
    gives np.percentile's very bits, ties, NaN and both ends included, in float32 and float64."""
    from benchbench.metrics.irs import percentile_rows

    rng = np.random.default_rng(0)
    for trial in range(600):
        rows, cols = int(rng.integers(1, 300)), int(rng.integers(1, 11))
        a = np.abs(rng.standard_normal((rows, cols))).astype(np.float32 if trial % 2 else np.float64)
        if trial % 7 == 0:
            a = np.round(a, 1)  # ties
        if trial % 11 == 0:
            a[rng.integers(rows), rng.integers(cols)] = np.nan
        q = (99.0, 50.0, 0.0, 100.0, 99.9, 12.5)[trial % 6]
        expected = np.percentile(a, q, axis=0)
        got = percentile_rows(a.copy(), q)
        assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=True), (rows, cols, q)
