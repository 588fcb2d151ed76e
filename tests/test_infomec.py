"""InfoMEC: the authors' ``compute_infomec`` replayed step by step with the scikit-learn calls it
makes, and factorial cases worked by hand."""

import itertools
import warnings

import numpy as np
import pytest
from sklearn import feature_selection, linear_model, preprocessing
from sklearn import metrics as skm
from toy import ToyFactors, factors_plus_noise, rotated

from benchbench.core.registry import metrics
from benchbench.metrics.infomec import active_latents, infoe, nmi_matrix, rescaled_concentration
from benchbench.plugin.representation import sample_codes


def _reference(sources, latents, seed):
    """``compute_infomec`` for continuous latents, as the reference writes it (its unseeded
    jitter given ``seed``; its ``penalty=None`` logistic regression)."""
    sources = np.stack([preprocessing.LabelEncoder().fit_transform(s) for s in sources.T], axis=1)
    scaled = np.concatenate([preprocessing.StandardScaler().fit_transform(z[:, None]) for z in latents.T], axis=1)
    nmi = np.empty((sources.shape[1], latents.shape[1]))
    for i in range(sources.shape[1]):
        for j in range(latents.shape[1]):
            nmi[i, j] = feature_selection.mutual_info_classif(
                scaled[:, j][:, None], sources[:, i], discrete_features=False, n_neighbors=10, random_state=seed
            )[0]
        nmi[i, :] /= skm.mutual_info_score(sources[:, i], sources[:, i])
    ranges = latents.max(axis=0) - latents.min(axis=0)
    active = ranges > ranges.max() / 20
    pruned, k, a = nmi[:, active], sources.shape[1], active.sum()
    infom = (np.mean(pruned.max(axis=0) / pruned.sum(axis=0)) - 1 / k) / (1 - 1 / k)
    infoc = (np.mean(pruned.max(axis=1) / pruned.sum(axis=1)) - 1 / a) / (1 - 1 / a)

    def loss(x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = linear_model.LogisticRegression(penalty=None, class_weight="balanced", max_iter=100).fit(x, y)
        return skm.log_loss(y, model.predict_proba(x))

    x = preprocessing.StandardScaler().fit_transform(latents)
    shares = [(loss(np.zeros_like(latents), y) - loss(x, y)) / loss(np.zeros_like(latents), y) for y in sources.T]
    return {"infom": infom, "infoe": np.mean(shares), "infoc": infoc, "nmi": nmi, "active_latents": active}


def test_infomec_replays_the_authors_computation_on_the_same_codes():
    data, rng = ToyFactors(), np.random.default_rng(2)
    out = metrics.get("infomec")(data, rotated(seed=5, scale=0.2), rng, num_train=600)
    rng = np.random.default_rng(2)
    latents, factors = sample_codes(data, rotated(seed=5, scale=0.2), 600, rng)
    expected = _reference(factors, latents.astype(np.float64), seed=int(rng.integers(2**31)))
    for key in ("infom", "infoe", "infoc"):
        assert out[key] == pytest.approx(expected[key], abs=1e-9), key
    np.testing.assert_allclose(out["nmi"], expected["nmi"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(out["active_latents"], expected["active_latents"])


def test_factorial_codes_by_hand():
    factors = np.array(list(itertools.product(range(3), range(4), range(2))))  # every combination once
    nmi = nmi_matrix(factors, factors.astype(float), discrete=True, seed=0)
    np.testing.assert_allclose(nmi, np.eye(3), atol=1e-12)  # independent factors: MI 0 off the diagonal
    assert rescaled_concentration(nmi, axis=0) == pytest.approx(1) and rescaled_concentration(nmi, axis=1) == 1
    spread = np.full((2, 4), 0.25)
    assert rescaled_concentration(spread, axis=0) == pytest.approx(0)  # each latent as much of both factors
    assert rescaled_concentration(spread, axis=1) == pytest.approx(0)
    assert rescaled_concentration(np.array([[0.6, 0.2], [0.0, 0.5]]), axis=0) == pytest.approx(
        ((1 + 0.5 / 0.7) / 2 - 0.5) / 0.5
    )
    assert infoe(factors, factors.astype(float), discrete=True) > 0.95  # one-hot codes: a linear probe reads them
    mask = active_latents(np.array([[0.0, 0, 0], [1.0, 0.04, 0.06]]), discrete=False)
    assert mask.tolist() == [True, False, True]  # range above 1/20 of the largest


def test_disentangled_codes_score_above_mixed_ones():
    data = ToyFactors()
    good = metrics.get("infomec")(data, factors_plus_noise(0.01), np.random.default_rng(0), num_train=2000)
    mixed = metrics.get("infomec")(data, rotated(scale=0.01), np.random.default_rng(0), num_train=2000)
    assert good["infom"] > 0.9 and good["infoc"] > 0.9 and good["infoe"] > 0.9
    assert mixed["infom"] < good["infom"] - 0.2 and mixed["infoc"] < good["infoc"] - 0.2


def test_infom_infoe_infoc_are_returned_and_ranked_higher_is_better():
    """What the overview and --select-by read: each output the metric declares is in its result,
    in [0, 1], and better higher (the check kit's run, on its tiny dataset)."""
    from benchbench.plugin.metric import declaration
    from benchbench.testing import run_on_tiny

    result = run_on_tiny("infomec", {}, seed=0)
    assert declaration("infomec").better == {"infom": "higher", "infoe": "higher", "infoc": "higher"}
    assert all(0 <= result[k] <= 1 for k in ("infom", "infoe", "infoc"))
