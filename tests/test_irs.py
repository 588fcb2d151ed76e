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
    """IRS's percentile of every group at once (numpy's linear interpolation on the largest values
    of groups padded together) gives np.percentile's very bits per group: ties, NaN, both ends
    (q = 0 needs every value), groups of very unequal sizes (several size classes), float32 and
    float64."""
    from benchbench.metrics.irs import group_percentiles

    rng = np.random.default_rng(0)
    for trial in range(300):
        counts = rng.integers(1, 60, size=int(rng.integers(1, 12)))
        if trial % 3 == 0:
            counts[0] = 400  # a group over twice the others: a class of its own
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        a = np.abs(rng.standard_normal((counts.sum(), int(rng.integers(1, 11)))))
        a = a.astype(np.float32 if trial % 2 else np.float64)
        if trial % 7 == 0:
            a = np.round(a, 1)  # ties
        if trial % 5 == 0:
            a[rng.integers(a.shape[0]), rng.integers(a.shape[1])] = np.nan
        q = (99.0, 50.0, 0.0, 100.0, 99.9, 12.5)[trial % 6]
        expected = np.stack([np.percentile(a[s : s + c], q, axis=0) for s, c in zip(starts, counts)])
        got = group_percentiles(a, starts, counts, q)
        assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=True), (counts, q)


def _scalable_disentanglement_score(factors, latents, quantile):
    """disentanglement_lib's ``irs.scalable_disentanglement_score`` matrix, as its code computes it:
    for each factor and each of its values, a mask, ``np.mean``, ``np.percentile``, summed in order."""
    deviations = np.zeros((latents.shape[1], factors.shape[1]))
    for i in range(factors.shape[1]):
        values = np.unique(factors[:, i])
        for v in values:
            group = latents[factors[:, i] == v, :]
            deviations[:, i] += np.percentile(np.abs(group - np.mean(group, axis=0)), quantile * 100, axis=0)
        deviations[:, i] /= values.size
    max_deviations = np.max(np.abs(latents - latents.mean(axis=0)), axis=0)
    return 1.0 - deviations / max_deviations[:, None]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_irs_matrix_is_disentanglement_libs_bit_for_bit(dtype):
    """The grouped computation keeps the reference's bits: its means summed as ``np.mean`` sums a
    group (row by row, or pairwise for a single latent), unequal groups (several size classes),
    one to ten latents, ties."""
    from benchbench.metrics.irs import irs_matrix

    rng = np.random.default_rng(1)
    for trial in range(60):
        n = int(rng.integers(20, 800))
        factors = rng.integers(0, (3, 12, 40)[trial % 3], size=(n, 2))
        factors[: n // 3, 0] = 0  # one value holds a third of the points
        latents = rng.standard_normal((n, (1, 2, 3, 4, 10)[trial % 5])).astype(dtype)
        if trial % 4 == 0:
            latents = np.round(latents, 1)
        quantile = (0.99, 0.5, 1.0, 0.0)[trial % 4]
        assert np.array_equal(
            irs_matrix(factors, latents, quantile)[0], _scalable_disentanglement_score(factors, latents, quantile)
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_latents_are_dropped_by_numpys_variance_with_its_layout(dtype):
    """The drop of constant latents answers as ``codes[:, codes.var(axis=0) > 0]`` and lays the
    kept latents out as it does, also where a range cannot say: a constant latent whose mean rounds
    off it (variance > 0), one whose values are tiny (variance 0), NaN, ±inf, overflowing ranges."""
    from benchbench.metrics.irs import _varying

    rng = np.random.default_rng(2)
    odd = {
        "constant, mean rounds": np.full(5000, 0.1),
        "constant zero": np.zeros(5000),
        "tiny range": np.where(rng.random(5000) < 0.5, 1e-30, 2e-30),
        "nan": np.where(np.arange(5000) == 7, np.nan, 1.0),
        "inf": np.where(np.arange(5000) == 7, np.inf, 1.0),
        "huge range": np.where(rng.random(5000) < 0.5, -3e38, 3e38),
    }
    assert (np.full(5000, 0.1, np.float32).var() > 0) is np.True_  # the rounding these cases guard against
    for name, column in [("none", None), *odd.items()]:
        codes = rng.standard_normal((5000, 6)).astype(dtype)
        if column is not None:
            codes[:, 2] = column.astype(dtype)
        with np.errstate(all="ignore"):  # numpy warns of its own NaN and overflow
            expected = codes[:, codes.var(axis=0) > 0]
            got = _varying(codes)
        assert np.array_equal(got, expected, equal_nan=True), name
        assert got.strides == expected.strides, name
