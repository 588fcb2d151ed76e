"""The batched boosted trees against scikit-learn's own trees and classifiers."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeRegressor

from benchbench.plugin.boosting import _compiled_grower, _Features, _grow, _tensor_grower, fit_classifiers


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two leaf labellings group the points identically (leaf ids may differ)?"""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def awkward_features(rng, n):
    """Continuous, discrete (exact ties), a chain of values 3e-8 apart (closer than scikit-learn's
    1e-7 split threshold, spanning more than it), a constant, a nearly collapsed latent, and
    integers with sub-threshold jitter."""
    return np.stack(
        [
            rng.normal(size=n),
            rng.integers(0, 5, n),
            rng.integers(0, 21, n) * 3e-8,
            np.full(n, 0.5),
            rng.normal(size=n) * 1e-6,
            rng.integers(0, 3, n) + rng.integers(0, 2, n) * 5e-8,
        ],
        axis=1,
    ).astype(np.float32)


@pytest.mark.parametrize("index", [torch.int32, torch.int64])
def test_trees_are_scikit_learns_regression_trees(index):
    rng = np.random.default_rng(1)
    x = awkward_features(rng, 3000)
    x_test = np.concatenate([x[:300], rng.normal(size=(300, x.shape[1])).astype(np.float32)])
    y = rng.normal(size=(3000, 6)) + 0.2 * x[:, [1]]
    feats = dataclasses.replace(_Features.build(x, x_test, torch.device("cpu")), index=index)
    leaf, leaf_test, importance = _grow(feats, torch.as_tensor(y), max_depth=3)
    for t in range(y.shape[1]):
        # scikit-learn breaks exact ties between features at random: ours must be one of its trees
        candidates = [DecisionTreeRegressor(max_depth=3, random_state=s).fit(x, y[:, t]) for s in range(12)]
        matches = [
            tree
            for tree in candidates
            if np.allclose(tree.tree_.compute_feature_importances(normalize=False), importance[t], rtol=0, atol=1e-12)
        ]
        assert matches, f"tree {t}"
        assert same_partition(matches[0].apply(x), leaf[t].numpy())
        assert same_partition(matches[0].apply(x_test), leaf_test[t].numpy())
        assert np.unique(leaf[t].numpy()).size == matches[0].get_n_leaves()


def test_classifiers_match_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 5)).astype(np.float32)
    x_test = rng.normal(size=(400, 5)).astype(np.float32)
    binary = (x[:, 0] + 0.5 * x[:, 4] > 0.3).astype(int) + 7
    four = np.digitize(x[:, 1] + 0.5 * x[:, 2], [-1, 0, 1])
    fits = fit_classifiers(x, np.stack([binary, four], axis=1), x_test, n_estimators=20)
    refs = [GradientBoostingClassifier(n_estimators=20, random_state=0).fit(x, y) for y in (binary, four)]
    for fit, ref in zip(fits, refs):
        np.testing.assert_array_equal(fit.classes, ref.classes_)
    np.testing.assert_allclose(fits[0].importance, refs[0].feature_importances_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fits[0].train_prediction, refs[0].predict(x))
    np.testing.assert_array_equal(fits[0].test_prediction, refs[0].predict(x_test))
    # Multiclass stages start from two-valued gradients, so small nodes hold exactly tied splits
    # that scikit-learn breaks at random: importances agree to ~1e-4, not to rounding.  (Without
    # the (K - 1)/K Newton factor they differ by 2e-3 and 28 training predictions change.)
    np.testing.assert_allclose(fits[1].importance, refs[1].feature_importances_, rtol=0, atol=5e-4)
    assert np.mean(fits[1].train_prediction == refs[1].predict(x)) > 0.995
    assert np.mean(fits[1].test_prediction == refs[1].predict(x_test)) > 0.995


def test_a_constant_target_has_no_importance_and_predicts_its_value():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    (fit,) = fit_classifiers(x, np.full((200, 1), 4), x[:10], n_estimators=5)
    assert fit.importance.tolist() == [0.0, 0.0, 0.0]
    assert fit.test_prediction.tolist() == [4] * 10


def test_ties_between_features_are_broken_at_random_from_the_seed_as_scikit_learn_does():
    """Two copies of one feature tie at every split: the lowest-feature rule gives the first all
    the importance; a tie seed, like scikit-learn's random_state, shares it out over seeds."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    x = np.stack([f, f, rng.normal(size=200)], axis=1).astype(np.float32)
    y = (f > 0).astype(int) + (f > 1).astype(int)

    def second_share(**kw):
        (fit,) = fit_classifiers(x, y[:, None], x[:5], n_estimators=5, **kw)
        return fit.importance[1] / (fit.importance[0] + fit.importance[1])

    assert second_share() == 0.0  # no seed: the lowest feature wins every tie
    ours = np.array([second_share(tie_seed=s) for s in range(30)])
    theirs = np.array([
        (lambda imp: imp[1] / (imp[0] + imp[1]))(
            GradientBoostingClassifier(n_estimators=5, random_state=s).fit(x, y).feature_importances_
        )
        for s in range(30)
    ])  # fmt: skip
    assert 0.35 < ours.mean() < 0.65 and 0.35 < theirs.mean() < 0.65  # either copy, about evenly
    assert 0.5 < ours.std() / theirs.std() < 2  # and as unevenly from one seed to the next
    assert second_share(tie_seed=3) == second_share(tie_seed=3)  # a seed gives the same trees


def test_the_compiled_kernel_grows_the_tensor_forms_trees():
    """On gradients without exact ties, the CPU kernel and the tensor form grow the same trees:
    the same partitions of training and test points, importances within rounding."""
    rng = np.random.default_rng(1)
    x = awkward_features(rng, 3000)
    x_test = np.concatenate([x[:300], rng.normal(size=(300, x.shape[1])).astype(np.float32)])
    y = torch.as_tensor(rng.normal(size=(3000, 6)) + 0.2 * x[:, [1]])
    feats = _Features.build(x, x_test, torch.device("cpu"))
    ours = _compiled_grower(feats, 3, tie_seed=0)(y)
    tensor = _tensor_grower(feats, 3, None)(y)
    for t in range(y.shape[1]):
        assert same_partition(ours[0][t].numpy(), tensor[0][t].numpy())
        assert same_partition(ours[1][t].numpy(), tensor[1][t].numpy())
        np.testing.assert_allclose(ours[2][t], tensor[2][t], rtol=0, atol=1e-15)


def test_the_compiled_kernel_spreads_tied_splits_as_scikit_learns_seeds_do():
    """Multiclass stages start from two-valued gradients, so nodes hold splits that tie exactly
    between latents, each sent to a random one by scikit-learn.  Over tie seeds the kernel's
    importances average what scikit-learn's average over its seeds, and vary as much."""
    rng = np.random.default_rng(0)
    n = 2000
    factor = rng.integers(0, 12, n)
    x = np.c_[rng.normal(size=(n, 9)), factor / 11 + 0.3 * rng.normal(size=n)].astype(np.float32)
    ours = np.array([fit_classifiers(x, factor[:, None], x[:5], n_estimators=20, tie_seed=s)[0].importance
                     for s in range(4)])  # fmt: skip
    theirs = np.array([GradientBoostingClassifier(n_estimators=20, random_state=s).fit(x, factor).feature_importances_
                       for s in range(4)])  # fmt: skip
    np.testing.assert_allclose(ours.mean(axis=0), theirs.mean(axis=0), rtol=0, atol=0.004)
    assert 0.5 < ours.std(axis=0).mean() / theirs.std(axis=0).mean() < 2


def root_split_one_tree(order, values, g, keys, splittable):
    """One tree's root split by the rule written out (the kernel's per-node scan), in Python
    floats: each feature's points in order, a candidate wherever a value lies more than 1e-7
    above the previous one, gain S_l²/n_l + S_r²/n_r from running sums in that order; a larger
    gain wins, an equal one only for another feature with a higher key."""
    if not splittable:
        return -1, 0.0
    n, total = len(g), 0.0
    for p in range(n):
        total += g[p]
    best, feature, threshold = -np.inf, -1, 0.0
    for f in range(order.shape[0]):
        running = 0.0
        for r in range(n):
            if r > 0 and values[f, r] > values[f, r - 1] + 1e-7:
                rest = total - running
                gain = running * running / r + rest * rest / (n - r)
                if gain > best or (gain == best and feature != f and keys[f] > keys[feature]):
                    best, feature, threshold = gain, f, values[f, r - 1] / 2 + values[f, r] / 2
            running += g[order[f, r]]
    return feature, threshold


def test_the_root_scan_across_trees_splits_each_tree_by_the_per_tree_rule():
    """The root's scan keeps the trees in SIMD lanes: every tree's split is the one the rule
    finds for it alone, exact ties between features included (a duplicated latent, integer
    codes, two-valued gradients), and a root that may not split stays whole."""
    from benchbench.plugin import tree_kernel

    rng = np.random.default_rng(3)
    n, features, trees = 300, 4, 11
    x = np.c_[rng.integers(0, 6, n), rng.normal(size=n), rng.integers(0, 6, n), rng.integers(0, 6, n)]
    x[:, 3] = x[:, 0]  # every split of latent 0 ties exactly with latent 3's
    order = np.argsort(x, axis=0, kind="stable").T.copy()
    values = np.take_along_axis(x, order.T, axis=0).T.copy()
    g = np.where(rng.random((trees, n)) < 0.3, 0.7, -0.3)
    g[4] = rng.normal(size=n)
    keys = rng.random((3, trees, 4, features))
    splittable = np.ones(trees, dtype=bool)
    splittable[7] = False
    total = np.cumsum(g, axis=1)[:, -1]  # left to right, as the kernel sums
    for blocks in (1, 2, 3):
        feature, threshold = tree_kernel._root_splits(order, values, g, keys, 1e-7, splittable, total, blocks)
        expected = [root_split_one_tree(order, values, g[t], keys[0, t, 0], splittable[t]) for t in range(trees)]
        assert feature.tolist() == [f for f, _ in expected]
        assert threshold.tolist() == [t for _, t in expected]
    assert feature[7] == -1 and {0, 3} & set(feature.tolist())  # the tie was there to break


def test_the_compiled_kernel_leaves_torchs_thread_count_as_it_found_it():
    """numba's OpenMP pool, started by the kernel's first call in a process, sets the process's
    OpenMP threads to every core, torch's included: a ``--threads 1`` evaluation (or one of
    several processes) would run its next metrics on all of them.  A fresh process, one thread."""
    script = (
        "import numpy as np, torch; torch.set_num_threads(1)\n"
        "from benchbench.plugin.boosting import fit_classifiers\n"
        "x = np.random.default_rng(0).random((200, 3)).astype(np.float32)\n"
        "fit_classifiers(x, (x[:, :1] * 3).astype(int), x[:10], n_estimators=2, tie_seed=0)\n"
        "print(torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1"]
