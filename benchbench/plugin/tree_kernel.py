"""One level-by-level growth of many regression trees on the CPU, compiled (numba): the trees of
:mod:`benchbench.plugin.boosting` without the tensor layout.

Why: on a CPU the tensor form makes some fifteen passes over features × trees × points per level
(gathers, cumulative sums, a partition), and those passes are the evaluation's largest cost.
Here each tree scans the points once per feature in that feature's sorted order, keeping a
running count and sum per node, so a split is found where scikit-learn's splitter finds it: the
first point of a node whose value lies more than 1e-7 above the previous one's, ranked by
scikit-learn's proxy ``S_l²/n_l + S_r²/n_r`` (sums from each node's first point, as scikit-learn
keeps them, so splits that tie exactly there tie here).  A tie between features goes as
scikit-learn's random feature order sends it: to the feature with the highest key among those
reaching the best gain, at its lowest position.  Trees grow in parallel threads.

At the root every tree holds every point, so a point's place in a feature's order, and whether
its value starts a new run, are the same for all trees: the root's scan
(:func:`_root_splits`) keeps the trees side by side in SIMD lanes, with the same sums in the
same order and the same comparisons as the per-tree scan, three times faster.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _node_stats(node, g, slots):  # pragma: no cover - compiled
    """Count, sum and sum of squares of ``g`` over each node's points, in the points' order."""
    count = np.zeros(slots, np.float64)
    total = np.zeros(slots, np.float64)
    squares = np.zeros(slots, np.float64)
    for p in range(node.shape[0]):
        k = node[p]
        count[k] += 1.0
        total[k] += g[p]
        squares[k] += g[p] * g[p]
    return count, total, squares


@numba.njit(cache=True)
def _impurity(count, total, squares):  # pragma: no cover - compiled
    """A node's squared-error impurity (0 for an empty one)."""
    if count == 0:
        return 0.0
    mean = total / count
    return squares / count - mean * mean


@numba.njit(cache=True)
def _may_split(count, impurity, epsilon):  # pragma: no cover - compiled
    """Whether an open node may split: scikit-learn's rule, at least two points and an impurity
    above ``epsilon``; the root's scan and the per-tree scan both ask it."""
    return count >= 2 and impurity > epsilon


@numba.njit(cache=True)
def _route(points, node, feature, threshold):  # pragma: no cover - compiled
    """Send each of ``points`` from its node k to child 2k, or 2k + 1 where k splits and its
    value of the split's feature exceeds the threshold (scikit-learn's ``x > threshold``)."""
    for q in range(points.shape[0]):
        k = node[q]
        child = 2 * k
        if feature[k] >= 0 and points[q, feature[k]] > threshold[k]:
            child += 1
        node[q] = child


@numba.njit(parallel=True, cache=True)
def _root_splits(  # pragma: no cover - compiled
    order, sorted_values, gradient, keys, feature_threshold, splittable, total, blocks
):
    """Every tree's root split, as :func:`grow` finds a node's, the trees side by side: the loop
    over trees that computes the gains is branch-free, so it vectorises, and only where a gain
    reaches its tree's best (rare once the scan is under way) does a second loop compare keys and
    update.  ``gradient (trees, n)``; ``total``: each tree's sum of its gradient in the points'
    order; ``splittable``: which roots may split; the trees go in ``blocks`` threads.  Returns
    each root's feature (−1: none) and threshold."""
    features, n = order.shape
    trees = gradient.shape[0]
    feature = np.full(trees, -1, np.int64)
    threshold = np.zeros(trees, np.float64)
    size = -(-trees // blocks)
    for b in numba.prange(blocks):
        lo, hi = b * size, min(trees, (b + 1) * size)
        if lo >= hi:
            continue
        width = hi - lo
        best = np.where(splittable[lo:hi], -np.inf, np.inf)  # a root that may not split never finds a better gain
        best_f, best_t = np.full(width, -1, np.int64), np.zeros(width)
        best_key, key, running, gain = np.zeros(width), np.zeros(width), np.zeros(width), np.zeros(width)
        rows = total[lo:hi].copy()
        lanes = np.ascontiguousarray(gradient[lo:hi].T)  # (n, width): a point's gradients side by side
        for f in range(features):
            for j in range(width):
                key[j] = keys[0, lo + j, 0, f]
                running[j] = 0.0
            last = 0.0
            for r in range(n):
                value = sorted_values[f, r]
                if r > 0 and value > last + feature_threshold:
                    left, right = float(r), float(n - r)
                    hit = False  # a gain at least a tree's best: rare once the scan is under way
                    for j in range(width):
                        rest = rows[j] - running[j]
                        gain[j] = running[j] * running[j] / left + rest * rest / right
                        hit |= gain[j] >= best[j]
                    for j in range(width if hit else 0):  # the best's own feature: keys equal, no tie
                        if gain[j] > best[j] or (gain[j] == best[j] and key[j] > best_key[j]):
                            best[j], best_f[j], best_key[j] = gain[j], f, key[j]
                            best_t[j] = last / 2.0 + value / 2.0
                p = order[f, r]
                for j in range(width):
                    running[j] += lanes[p, j]
                last = value
        feature[lo:hi] = best_f
        threshold[lo:hi] = best_t
    return feature, threshold


@numba.njit(parallel=True, cache=True)
def grow(  # pragma: no cover - compiled
    order, sorted_values, x, x_test, gradient, max_depth, keys, feature_threshold, epsilon, threads
):
    """Grow one tree per row of ``gradient (trees, n)``, on ``threads`` threads; values closer than
    ``feature_threshold`` are never split apart, a node with impurity at most ``epsilon`` is a
    leaf (scikit-learn's).

    ``order (F, n)``: points sorted by each feature (stable), ``sorted_values (F, n)`` their
    values; ``x (n, F)`` and ``x_test (m, F)`` float64 holding float32 values; ``keys
    (max_depth, trees, 2**(max_depth-1), F)``: a tie key per node and feature.  Returns the
    leaf of every training and test point ``(trees, n)`` / ``(trees, m)`` (children of node k
    are 2k and 2k + 1) and the impurity decreases per feature ``(trees, F)``, over the root's size.
    """
    features, n = order.shape
    trees = gradient.shape[0]
    m = x_test.shape[0]
    leaf = np.zeros((trees, n), np.int64)
    leaf_test = np.zeros((trees, m), np.int64)
    importance = np.zeros((trees, features), np.float64)
    root = np.zeros((trees, 3), np.float64)  # each root's count, sum and sum of squares, for both scans
    root_splittable = np.zeros(trees, np.bool_)
    for t in numba.prange(trees):
        count, total, squares = _node_stats(leaf[t], gradient[t], 1)
        root[t, 0], root[t, 1], root[t, 2] = count[0], total[0], squares[0]
        root_splittable[t] = _may_split(count[0], _impurity(count[0], total[0], squares[0]), epsilon)
    root_feature, root_threshold = _root_splits(
        order, sorted_values, gradient, keys, feature_threshold, root_splittable, root[:, 1].copy(), threads
    )
    for t in numba.prange(trees):
        g = gradient[t]
        node = leaf[t]
        node_test = leaf_test[t]
        open_ = np.ones(2**max_depth, np.bool_)
        count, total, squares = root[t, 0:1].copy(), root[t, 1:2].copy(), root[t, 2:3].copy()
        for depth in range(max_depth):
            slots = 2**depth
            impurity = np.zeros(slots, np.float64)
            splittable = np.zeros(slots, np.bool_)
            for k in range(slots):
                impurity[k] = _impurity(count[k], total[k], squares[k])
                splittable[k] = open_[k] and _may_split(count[k], impurity[k], epsilon)
            best_gain = np.full(slots, -np.inf)
            best_feature = np.full(slots, -1, np.int64)
            threshold = np.zeros(slots, np.float64)
            seen = np.zeros(slots, np.int64)
            running = np.zeros(slots, np.float64)
            last = np.zeros(slots, np.float64)
            if depth == 0:  # found above, every tree at once
                best_feature[0], threshold[0] = root_feature[t], root_threshold[t]
            for f in range(features if depth > 0 else 0):
                seen[:] = 0
                running[:] = 0.0
                for r in range(n):
                    p = order[f, r]
                    k = node[p]
                    if not splittable[k]:
                        continue
                    value = sorted_values[f, r]
                    left = seen[k]
                    if left > 0 and value > last[k] + feature_threshold:
                        right = count[k] - left
                        rest = total[k] - running[k]
                        gain = running[k] * running[k] / left + rest * rest / right
                        better = gain > best_gain[k]
                        if not better and gain == best_gain[k] and best_feature[k] != f:
                            better = keys[depth, t, k, f] > keys[depth, t, k, best_feature[k]]
                        if better:
                            best_gain[k] = gain
                            best_feature[k] = f
                            threshold[k] = last[k] / 2.0 + value / 2.0
                    seen[k] = left + 1
                    running[k] += g[p]
                    last[k] = value
            _route(x, node, best_feature, threshold)
            _route(x_test, node_test, best_feature, threshold)
            c_count, c_total, c_squares = _node_stats(node, g, 2 * slots)  # the next level's nodes
            for k in range(slots):
                split = best_feature[k] >= 0
                if split:
                    weighted = 0.0
                    for child in (2 * k, 2 * k + 1):
                        weighted += c_count[child] * _impurity(c_count[child], c_total[child], c_squares[child])
                    importance[t, best_feature[k]] += (count[k] * impurity[k] - weighted) / n
                open_[2 * k] = split
                open_[2 * k + 1] = split
            count, total, squares = c_count, c_total, c_squares
    return leaf, leaf_test, importance
