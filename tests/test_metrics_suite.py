"""The standard metrics on representations with known answers."""

import functools

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import torch
from toy import Adapter, TorchEncoder, ToyFactors, ToyLabels, factors_plus_noise, pure_noise, rotated

from benchbench.core.registry import datasets, metrics
from benchbench.evaluation.encoders import CodeTable
from benchbench.plugin.representation import ModelView, encode, encode_pairs, partners, reduce_pairs
from benchbench.plugin.stats import entropy, histogram_discretize, mutual_info_matrix, pearson_matrix

SMALL = {
    "beta_vae_score": {"batch_size": 16, "num_train": 600, "num_eval": 300},
    "factor_vae_score": {"batch_size": 32, "num_train": 600, "num_eval": 300, "num_variance_estimate": 2000},
    "mig": {"num_train": 3000},
    "dci": {"num_train": 600, "num_test": 300},
    "sap": {"num_train": 2000, "num_test": 1000, "n_jobs": 1},
    "modularity_explicitness": {"num_train": 2000, "num_test": 1000},
}


def score(name, model, dataset=None, seed=0, **extra):
    return metrics.get(name)(dataset or ToyFactors(), model, np.random.default_rng(seed), **{**SMALL[name], **extra})


def test_factors_themselves_score_high_rotation_lower_noise_at_chance():
    good, rot, noise = factors_plus_noise(), rotated(), pure_noise()
    assert score("beta_vae_score", good)["eval_accuracy"] > 99
    assert score("beta_vae_score", rot)["eval_accuracy"] < 90
    assert abs(score("beta_vae_score", noise)["eval_accuracy"] - 25) < 8  # 4 factors
    assert score("factor_vae_score", good)["eval_accuracy"] > 0.99
    assert score("factor_vae_score", rot)["eval_accuracy"] < 0.9
    assert abs(score("factor_vae_score", noise)["eval_accuracy"] - 0.25) < 0.1
    mig_good, mig_rot, mig_noise = (score("mig", m)["mig"] for m in (good, rot, noise))
    assert mig_good > 0.9 and mig_rot < mig_good - 0.3 and mig_noise < 0.05
    dci_good, dci_rot = score("dci", good), score("dci", rot)
    assert dci_good["disentanglement"] > 0.9 and dci_good["completeness"] > 0.9
    assert dci_rot["disentanglement"] < dci_good["disentanglement"] - 0.2
    assert dci_good["informativeness_test"] > 0.95
    assert score("dci", noise)["informativeness_test"] < 0.4
    sap_good, sap_rot, sap_noise = (score("sap", m)["sap"] for m in (good, rot, noise))
    # one latent with a linear SVM can only cut a 1-D line once per class: ~0.33 is the ceiling here
    assert sap_good > 0.25 and sap_rot < 0.1 and sap_noise < 0.02
    mod_good, mod_noise = score("modularity_explicitness", good), score("modularity_explicitness", noise)
    assert mod_good["modularity"] > 0.99 and mod_good["explicitness_test"] > 0.95
    assert score("modularity_explicitness", rot)["modularity"] < 0.9
    assert abs(mod_noise["explicitness_test"] - 0.5) < 0.05 and mod_noise["modularity"] < 0.8


def test_seeded_metrics_are_deterministic():
    for name in SMALL:
        a = score(name, factors_plus_noise(seed=1), seed=7)
        b = score(name, factors_plus_noise(seed=1), seed=7)
        assert {k: np.asarray(v).tolist() for k, v in a.items()} == {k: np.asarray(v).tolist() for k, v in b.items()}


def test_beta_vae_score_on_a_labelled_dataset():
    data = ToyLabels(n=6000, k=5)
    assert score("beta_vae_score", factors_plus_noise(), dataset=data)["eval_accuracy"] > 95
    assert abs(score("beta_vae_score", pure_noise(), dataset=data)["eval_accuracy"] - 20) < 8
    two = {"dataset": ToyFactors(), "factors": ["a", "c"]}  # a two-class problem
    # C = 0.01 regularises hard: features must be on the scale of a VAE's μ, not [0, 1]
    scaled = factors_plus_noise().fn
    assert score("beta_vae_score", Adapter(lambda x: 5 * scaled(x)), **two)["eval_accuracy"] > 95
    assert abs(score("beta_vae_score", pure_noise(), **two)["eval_accuracy"] - 50) < 8
    logreg = score("beta_vae_score", factors_plus_noise(), classifier="logreg", mode="compat")
    assert logreg["eval_accuracy"] > 95


def test_factor_vae_compat_reproduces_num_active_dims_quirk():
    collapsed = factors_plus_noise().fn
    model = type(factors_plus_noise())(lambda x: np.hstack([collapsed(x), np.zeros((x.shape[0], 2))]))
    default = score("factor_vae_score", model, seed=3)
    compat = score("factor_vae_score", model, seed=3, mode="compat")
    assert default["num_active_dims"] == 4 and compat["num_active_dims"] == 6
    assert default["eval_accuracy"] == compat["eval_accuracy"]


def test_explicitness_default_survives_a_constant_latent_compat_does_not():
    base = factors_plus_noise().fn
    model = type(factors_plus_noise())(lambda x: np.hstack([base(x), np.ones((x.shape[0], 1))]))
    assert score("modularity_explicitness", model)["explicitness_test"] > 0.95
    with pytest.raises(ValueError):
        score("modularity_explicitness", model, mode="compat")


def test_stats_match_reference_implementations():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 7, (500, 3)), rng.integers(0, 4, (500, 2))
    mi = mutual_info_matrix(a, b)
    for i in range(3):
        for j in range(2):
            assert mi[i, j] == pytest.approx(sklearn.metrics.mutual_info_score(b[:, j], a[:, i]), abs=1e-12)
    # small non-negative integers are coded by counting, others by sorting: the same codes, the same bits
    sparse, negative = 5 * a + 3, b.astype(np.int64) - 10**12
    assert np.array_equal(mutual_info_matrix(sparse, negative), mi)
    assert np.array_equal(mutual_info_matrix(a.astype(float), b), mi)
    ent = entropy(b)
    assert np.array_equal(entropy(negative), ent)
    for j in range(2):
        assert ent[j] == pytest.approx(scipy.stats.entropy(np.bincount(b[:, j])), rel=1e-12)
    x = rng.normal(size=(300, 2))
    d = histogram_discretize(x, 20)
    for j in range(2):  # disentanglement_lib's own lines
        assert np.array_equal(d[:, j], np.digitize(x[:, j], np.histogram(x[:, j], 20)[1][:-1]))
    assert d.min() == 1 and d.max() == 20
    assert (np.diff(d[np.argsort(x[:, 0]), 0]) >= 0).all()  # monotone in the value
    y = np.c_[x[:, 0] * 2 + rng.normal(size=300), rng.normal(size=300), np.zeros(300)]
    r = pearson_matrix(x, y)
    expected = np.corrcoef(x.T, y[:, :2].T)[:2, 2:]
    np.testing.assert_allclose(r[:, :2], expected, rtol=1e-12)
    assert (r[:, 2] == 0).all()


def test_model_view_encodes_each_image_once():
    data = ToyFactors()
    view = ModelView(TorchEncoder(), torch.device("cpu"), batch_size=50)
    for name in SMALL:
        score(name, view, dataset=data)
    touched = view.images_encoded
    assert 0 < touched <= len(data)
    score("mig", view, dataset=data, seed=9)
    assert view.images_encoded == touched  # everything already cached: nothing encoded again
    idx = np.array([5, 3, 5, 300])
    np.testing.assert_allclose(view.encode_indices(data, idx), data.images_at(idx).reshape(4, -1), atol=1 / 255)


def test_compat_means_disentanglement_libs_logistic_regression_in_explicitness():
    """compat is one definition for every metric: scikit-learn ≤ 0.21's default logistic
    regression (liblinear, one binary problem per class), which disentanglement_lib ran on."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    from benchbench.plugin.representation import sample_codes

    model, rng = rotated(), np.random.default_rng(5)  # the toy adds fresh noise per call: a new one each time
    mus, ys = sample_codes(ToyFactors(), model, 2000, rng)
    mus_test, ys_test = sample_codes(ToyFactors(), model, 1000, rng)
    mean, std = mus.mean(axis=0), mus.std(axis=0)

    def explicitness(make):
        aucs = []
        for j in range(ys.shape[1]):
            clf = make().fit((mus - mean) / std, ys[:, j])
            onehot = MultiLabelBinarizer().fit_transform(ys_test[:, j, None])
            aucs.append(sklearn.metrics.roc_auc_score(onehot, clf.predict_proba((mus_test - mean) / std)))
        return np.mean(aucs)

    liblinear = explicitness(lambda: OneVsRestClassifier(LogisticRegression(solver="liblinear")))
    lbfgs = explicitness(lambda: LogisticRegression(max_iter=1000))
    compat = score("modularity_explicitness", rotated(), seed=5, mode="compat", solver="scikit-learn")
    batched = score("modularity_explicitness", rotated(), seed=5, mode="compat")["explicitness_test"]
    default = score("modularity_explicitness", rotated(), seed=5)["explicitness_test"]
    assert compat["explicitness_test"] == pytest.approx(liblinear, abs=1e-12) and abs(liblinear - lbfgs) > 1e-4
    assert batched == pytest.approx(liblinear, abs=1e-4)  # liblinear's problem, to the batched solver's stop
    assert default == pytest.approx(lbfgs, abs=1e-3)  # default: today's lbfgs, its own AUC alignment


def test_sap_batched_svms_score_what_scikit_learns_do():
    """The batched fit reaches each problem's exact minimum where scikit-learn stops at its 1e-4:
    the score matrices agree but for the rare test point within that tolerance of a boundary."""
    for make in (factors_plus_noise, rotated):  # a fresh model each: a toy draws its noise as it encodes
        ours = score("sap", make(), seed=3)
        theirs = score("sap", make(), seed=3, solver="scikit-learn")
        np.testing.assert_allclose(ours["score_matrix"], theirs["score_matrix"], atol=2e-3)
        assert abs(ours["sap"] - theirs["sap"]) <= 2e-3


def test_partners_keep_factor_k_and_draw_the_others_as_sample_factors_does():
    """disentanglement_lib's pair: the reference's value of factor k, every other factor drawn
    uniformly — the same draws from the stream as ``sample_factors``, index for index."""
    data = datasets.get("shapes2d")()
    rng = np.random.default_rng(0)
    reference = rng.integers(0, len(data), size=(300, 4))
    k = rng.integers(0, len(data.factor_sizes), size=(300, 1))
    drawn = data.sample_factors(reference.size, np.random.default_rng(9)).reshape(300, 4, -1)
    expected = drawn.copy()
    np.put_along_axis(expected, np.broadcast_to(k, reference.shape)[..., None], 0, axis=-1)
    kept = np.take_along_axis(data.index_to_factors(reference), np.broadcast_to(k, reference.shape)[..., None], -1)
    expected += np.where(np.arange(drawn.shape[-1]) == np.broadcast_to(k, reference.shape)[..., None], kept, 0)
    assert np.array_equal(partners(data, reference, k, np.random.default_rng(9)), data.factors_to_index(expected))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_first_reductions_have_the_point_first_bits(dtype):
    """A reduction over the pairs gives the very bits of numpy's over the point-first batches
    disentanglement_lib reduces, whether the codes lie pair-first or point-first (a pair-first
    view): the Higgins mean of gaps and FactorVAE's float64 variance, for one latent (which numpy
    sums pairwise) and several, and on a block of points."""
    rng = np.random.default_rng(0)
    variance = functools.partial(np.var, ddof=1, dtype=np.float64)
    for trial in range(200):
        n, pairs, d = int(rng.integers(1, 200)), int(rng.integers(2, 100)), (1, 2, 10, 13)[trial % 4]
        scale = 10 ** rng.uniform(-4, 4, size=(n, 1, d))
        point_first = (rng.standard_normal((n, pairs, d)) * scale + rng.uniform(-1e3, 1e3, size=d)).astype(dtype)
        block = slice(n // 3, n // 3 + 17)
        for codes in (np.ascontiguousarray(np.moveaxis(point_first, 1, 0)), np.moveaxis(point_first, 1, 0)):
            for reduce in (np.mean, variance):
                assert np.array_equal(reduce_pairs(reduce, codes), reduce(point_first, axis=1)), (n, pairs, d)
            assert np.array_equal(reduce_pairs(variance, codes[:, block]), variance(point_first[block], axis=1))


def _model(kind: str, data):
    """A fresh model: a code table (a code per index), or an encoder of images, a fixed projection,
    whose ``noisy`` form adds a draw per call from its own seeded stream."""
    if kind == "code table":
        return CodeTable(np.random.default_rng(1).standard_normal((len(data), 3)).astype(np.float32), "codes")
    noise = np.random.default_rng(4)
    projection = np.random.default_rng(1).standard_normal((int(np.prod(data.image_shape)), 3))
    return Adapter(lambda x: x @ projection + (noise.standard_normal((len(x), 3)) if kind == "noisy encoder" else 0))


@pytest.mark.parametrize(
    "name, kind, pair_first_memory",
    [
        ("shapes2d", "code table", True),  # a code per index: gathered pair-first
        ("shapes2d", "noisy encoder", False),  # a draw per call: encoded in the points' order
        ("noisy_dsprites", "encoder", False),  # a nuisance per observation: drawn in the points' order
    ],
)
def test_pair_first_codes_are_the_point_first_codes_turned(name, kind, pair_first_memory):
    """``encode_pairs`` gives ``encode``'s codes of the same points, shaped pair-first, each
    drawn as ``encode`` draws it; its memory is pair-first only where a code is the model's by index."""
    data = datasets.get(name)()
    indices = np.random.default_rng(2).integers(0, len(data), size=(40, 5))
    pair_first = encode_pairs(data, _model(kind, data), indices, np.random.default_rng(3))
    point_first = encode(data, _model(kind, data), indices, np.random.default_rng(3))
    assert pair_first.shape == (5, 40, 3) and pair_first.flags.c_contiguous == pair_first_memory
    assert np.array_equal(pair_first, np.moveaxis(point_first, 1, 0))


def test_sampled_codes_come_with_their_images_factors():
    """``sample_codes`` gives each drawn image's own factors (taken from the draw, not decoded
    again): a code table whose code is the image's index says which image each row is."""
    from benchbench.plugin.representation import sample_codes

    data = datasets.get("shapes2d")()
    table = CodeTable(np.arange(len(data), dtype=np.float32)[:, None], "indices")
    codes, labels = sample_codes(data, table, 500, np.random.default_rng(6))
    assert np.array_equal(labels, data.index_to_factors(codes[:, 0].astype(np.int64)))
    assert len(np.unique(codes)) > 400  # drawn over the dataset, not one image


def test_rank_auc_is_scikit_learns_roc_auc_ties_and_all():
    from benchbench.metrics.modularity_explicitness import rank_auc

    rng = np.random.default_rng(2)
    labels = rng.integers(-1, 4, 500)  # −1: a row of no class
    onehot = (labels[:, None] == np.arange(4)).astype(int)
    scores = np.round(rng.random((500, 4)) + 0.3 * onehot, 1)  # rounded: many ties
    expected = [sklearn.metrics.roc_auc_score(onehot[:, c], scores[:, c]) for c in range(4)]
    np.testing.assert_allclose(rank_auc(labels, scores.T), expected, rtol=1e-12)
    assert rank_auc(np.array([0, -1, 0, -1]), np.array([[0.9, 0.1, 0.5, 0.5]]))[0] == 0.875  # by hand
    assert (
        rank_auc(np.array([1, 0, 1, 0]), np.array([[0.2, 0.8, 0.5, 0.5], [0.9, 0.1, 0.5, 0.5]])).tolist() == [0.875] * 2
    )


def test_batched_auc_aligns_classes_as_the_scikit_learn_path_does():
    """The batched path's class alignment is the one scikit-learn's path makes with one-hot
    columns: a training class absent from the test rows, a test label the fit never saw, both,
    and two classes (both columns scored)."""
    from benchbench.metrics.modularity_explicitness import _auc

    rng = np.random.default_rng(3)
    for classes, y in [
        (np.array([0, 2, 5, 7]), rng.choice([0, 2, 7], 300)),  # 5 absent
        (np.array([0, 2, 5]), rng.choice([0, 2, 5, 9], 300)),  # 9 unseen
        (np.array([1, 3, 4, 8]), rng.choice([1, 4, 6, 8], 300)),  # 3 absent, 6 unseen
        (np.array([1, 4]), rng.choice([1, 4], 300)),  # two classes
    ]:
        proba = rng.dirichlet(np.ones(len(classes)), 300).round(2)  # rounded: ties
        ours = _auc(y, np.ascontiguousarray(proba.T).T, classes, False, "batched")  # the batched fit's layout
        assert ours == pytest.approx(_auc(y, proba, classes, False, "scikit-learn"), abs=1e-12), classes


def test_explicitness_batched_scores_what_scikit_learn_does():
    """The same regressions (the batched one at scikit-learn's stop, by another path) and the same
    areas: explicitness agrees to well within its spread over seeds; modularity is untouched."""
    for mode in ("default", "compat"):
        ours = score("modularity_explicitness", factors_plus_noise(), seed=4, mode=mode)
        theirs = score("modularity_explicitness", factors_plus_noise(), seed=4, mode=mode, solver="scikit-learn")
        assert ours["modularity"] == theirs["modularity"]
        for name in ("explicitness_train", "explicitness_test"):
            assert abs(ours[name] - theirs[name]) <= 1e-4, (mode, name)
