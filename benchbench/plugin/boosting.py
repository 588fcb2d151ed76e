"""Exact gradient-boosted decision trees — scikit-learn's ``GradientBoostingClassifier()`` with its
defaults — fitted for several targets at once, on tensors, on any device.

Why: DCI fits one boosted classifier per factor, and each boosting stage grows one depth-3
regression tree per class: 11,300 trees for dSprites' five factors at 100 stages, which
scikit-learn builds one after another on one core each.  Here all trees of a stage grow
together, level by level, as a handful of tensor operations, so a GPU does them at once.

The trees are scikit-learn's: float32 features, the squared-error split criterion over every
feature and every threshold between values more than 1e-7 apart, ``min_samples_leaf = 1``, a
node splits only while its impurity exceeds machine epsilon; leaves get the one-step Newton
values of the binomial or multinomial log loss (with the ``(K − 1)/K`` factor), raw predictions
start at the log class priors.  Importances are the impurity decreases of every split, averaged
over trees and normalised — ``feature_importances_``.  The one freedom is ties: scikit-learn
breaks an exactly equal split gain between features in a random order per node (the first
feature in that order to reach the best gain wins, at its lowest threshold).  Given a
``tie_seed`` this does the same from a generator seeded with it (scikit-learn's draws, not its
bits); else it takes the lowest position, then the lowest feature, needing no seed.  Exact ties
are common: with few training points many features split them perfectly alike, and every
multiclass stage starts from two-valued gradients.  The lowest feature would win every such tie,
so importances and accuracy would lean on the order of the codes (``"lowest"`` is kept for the
evaluations made with it).  Sums are float64 throughout.

Two forms grow the same trees.  On a CPU, with a tie seed, the compiled kernel of
:mod:`benchbench.plugin.tree_kernel` scans each feature's sorted order once per level.  Otherwise
(a GPU, or the lowest-feature rule) every (feature, tree) keeps its samples sorted by (node,
feature value): a split search is one cumulative sum per row, and a split keeps the order by a
stable partition of each node's segment, so nothing is sorted again after the first level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

#: How a metric's trees break a split tied between latents: ``random``, from the metric's stream,
#: as scikit-learn's unseeded trees in disentanglement_lib do; or ``lowest``, the lowest latent
#: (what evaluations made before the option computed).
Ties = Literal["random", "lowest"]
FEATURE_THRESHOLD = 1e-7  # values closer than this are never split apart (scikit-learn's)
EPSILON = float(np.finfo(np.float64).eps)  # a node this pure is a leaf
ELEMENTS_PER_CHUNK = 2**24  # features × trees × points grown in one go, to bound the working memory


@dataclass
class BoostedFit:
    """One target's fitted classifier, summarised: what DCI needs of it."""

    classes: np.ndarray  # the sorted class values seen in training
    importance: np.ndarray  # (features,), sums to 1 (all zeros when no tree ever split)
    train_prediction: np.ndarray  # predicted class values on the training points
    test_prediction: np.ndarray  # … and on the test points


@dataclass
class _Targets:
    """The trees of every target side by side: target j owns columns ``slices[j]`` (one tree per
    class, or one for a binary target)."""

    classes: list[np.ndarray]
    slices: list[slice]
    onehot: torch.Tensor  # (n, trees): 1 where the point belongs to the tree's class

    @classmethod
    def build(cls, y: np.ndarray, device) -> _Targets:
        classes, slices, columns, start = [], [], [], 0
        for j in range(y.shape[1]):
            values, code = np.unique(y[:, j], return_inverse=True)
            code = torch.as_tensor(code.reshape(-1), device=device)
            trees = 1 if values.size == 2 else values.size
            hot = (code[:, None] == torch.arange(trees, device=device)) if trees > 1 else (code[:, None] == 1)
            classes.append(values), columns.append(hot.double())
            slices.append(slice(start, start + trees))
            start += trees
        return cls(classes, slices, torch.cat(columns, dim=1))

    def binary(self, j: int) -> bool:
        return self.classes[j].size == 2

    def initial_raw(self, n_train: int, n_test: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Log priors (logit of the positive class for a binary target), clipped as scikit-learn does."""
        eps = np.finfo(np.float64).eps
        prior = self.onehot.mean(dim=0).clamp(eps, 1 - eps)
        for j, cols in enumerate(self.slices):
            if self.binary(j):
                prior[cols] = torch.logit(prior[cols])
            else:
                prior[cols] = torch.log(prior[cols])
        return prior.expand(n_train, -1).clone(), prior.expand(n_test, -1).clone()

    def negative_gradient(self, raw: torch.Tensor) -> torch.Tensor:
        prob = torch.empty_like(raw)
        for j, cols in enumerate(self.slices):
            prob[:, cols] = torch.sigmoid(raw[:, cols]) if self.binary(j) else torch.softmax(raw[:, cols], dim=1)
        return self.onehot - prob

    def newton_factor(self) -> torch.Tensor:
        """``(K − 1)/K`` for the trees of a K-class target, 1 for a binary one."""
        out = torch.ones(self.onehot.shape[1], dtype=torch.float64, device=self.onehot.device)
        for j, cols in enumerate(self.slices):
            if not self.binary(j):
                k = self.classes[j].size
                out[cols] = (k - 1) / k
        return out

    def predict(self, j: int, raw: torch.Tensor) -> np.ndarray:
        scores = raw[:, self.slices[j]]
        code = (scores[:, 0] >= 0).long() if self.binary(j) else scores.argmax(dim=1)
        return self.classes[j][code.cpu().numpy()]


@dataclass
class _Features:
    """The shared features, prepared once for every tree of every stage."""

    x: torch.Tensor  # (n, F) float64 holding float32 values, as scikit-learn's trees see them
    x_test: torch.Tensor
    order: torch.Tensor  # (F, n) points sorted by each feature
    values: torch.Tensor  # (F, n) each feature's values in that order
    index: torch.dtype  # int32 on the CPU (half the memory traffic), int64 elsewhere
    # Points whose next larger value of feature f lies within 1e-7, and their ranks in feature f,
    # padded to (F, S) with -1: the only places where a split between node neighbours may be
    # forbidden.
    tied: torch.Tensor
    tied_rank: torch.Tensor

    @classmethod
    def build(cls, x_train: np.ndarray, x_test: np.ndarray, device: torch.device) -> _Features:
        x = torch.as_tensor(np.asarray(x_train, np.float32), device=device).double()
        n = x.shape[0]
        order = torch.argsort(x.T, dim=1, stable=True)
        values = x.T.gather(1, order)
        close = torch.nn.functional.pad(values[:, 1:] <= values[:, :-1] + FEATURE_THRESHOLD, (0, 1))
        width = max(1, int(close.sum(dim=1).max()))
        rank = torch.where(close, torch.arange(n, device=device), n).sort(dim=1).values[:, :width]
        pad = rank == n
        return cls(
            x=x,
            x_test=torch.as_tensor(np.asarray(x_test, np.float32), device=device).double(),
            order=order,
            values=values,
            index=torch.int32 if device.type == "cpu" else torch.int64,
            tied=torch.where(pad, -1, order.gather(1, rank.clamp(max=n - 1))),
            tied_rank=torch.where(pad, -1, rank),
        )


def _in_layout(table: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """``table (trees, n)`` read in every row's order: ``(features, trees, n)``."""
    return table.reshape(-1).index_select(0, perm.reshape(-1)).view(perm.shape)


def _per_node(node: torch.Tensor, values: torch.Tensor, slots: int) -> torch.Tensor:
    """Sum of ``values (trees, n, k)`` over each node's points: ``(trees, slots, k)``.

    A masked sum rather than scatter_add, whose atomic adds on a GPU would sum in a different
    order on every run and so break ties between equal splits differently each time.
    """
    mask = (node[:, :, None] == torch.arange(slots, device=node.device)).to(values.dtype)
    return torch.einsum("tns,tnk->tsk", mask, values)


def _segment_stats(node: torch.Tensor, values: torch.Tensor, slots: int):
    """Per-node count, sum and sum of squares of ``values (trees, n)``: three ``(trees, slots)``."""
    stats = _per_node(node, torch.stack([torch.ones_like(values), values, values * values], dim=2), slots)
    return stats.unbind(dim=2)


def _impurity(count, total, squares):
    safe = count.clamp(min=1)
    return squares / safe - (total / safe) ** 2


def _exclusive_cumsum(t: torch.Tensor) -> torch.Tensor:
    return torch.cumsum(t, dim=1) - t


def _grow(feats: _Features, gradient: torch.Tensor, max_depth: int, ties: torch.Generator | None = None):
    """Grow one regression tree per column of ``gradient (n, trees)``.

    Returns the leaf of every training and test point ``(trees, n)`` / ``(trees, n_test)`` and
    each tree's unnormalised importances ``(trees, F)`` (impurity decrease over the root's size).
    ``ties``: the generator that picks among features tied for a split (else the lowest).
    Row (f, t) of the layout holds tree t's points sorted by (node, x_f) as flat indices
    t·n + point, so one index_select reads a per-tree quantity in that order.  Whatever does not
    depend on the feature — a position's node, the node's start, size and sum, the sum of the
    nodes before it — is ``(trees, n)`` and broadcasts: only the gather, one cumulative sum and
    two fused products per level touch ``features × trees × n`` elements.
    """
    x, index = feats.x, feats.index
    n, features = x.shape
    trees = gradient.shape[1]
    device = x.device
    g = gradient.T.contiguous()
    tree_index = torch.arange(trees, device=device)[:, None]
    perm = feats.order[:, None, :].to(index) + (tree_index * n).to(index)
    tied_pos = feats.tied_rank[:, None, :].expand(features, trees, -1).to(index)  # follows the layout
    node = torch.zeros(trees, n, dtype=torch.long, device=device)
    node_test = torch.zeros(trees, feats.x_test.shape[0], dtype=torch.long, device=device)
    open_ = torch.ones(trees, 1, dtype=torch.bool, device=device)  # nodes that may still split
    importance = torch.zeros(trees, features, dtype=torch.float64, device=device)
    position = torch.arange(n, device=device).expand(trees, n)
    count, total, squares = _segment_stats(node, g, 1)
    for depth in range(max_depth):
        slots = 2**depth
        impurity = _impurity(count, total, squares)
        splittable = open_ & (count >= 2) & (impurity > EPSILON)
        end = torch.cumsum(count, dim=1).long()
        segment = torch.searchsorted(end, position.contiguous(), right=True)  # node at each position
        seg_start = (end - count.long()).gather(1, segment)
        size = count.gather(1, segment)
        n_left = (position - seg_start + 1).double()
        n_right = size - n_left
        # S_l²/n_l + S_r²/n_r, scikit-learn's ranking of a node's splits, increases with
        # (n·S_l − n_l·S)² / (n_l·n_r), and S_l is the row's running sum less the sum of the
        # nodes before this one (the same points whichever the feature).
        valid = (n_right >= 1) & splittable.gather(1, segment)
        weight = torch.where(valid, 1.0 / (n_left * n_right.clamp(min=1)), 0.0)
        offset = size * _exclusive_cumsum(total).gather(1, segment) + n_left * total.gather(1, segment)
        gain = _in_layout(g, perm).cumsum_(dim=2).mul_(size).sub_(offset)  # n·S_l − n_l·S
        gain.square_().mul_(weight).add_(torch.where(valid, 0.0, -torch.inf))
        _forbid_close_splits(gain, feats, perm, tied_pos)
        best_over_features, best_feature = gain.max(dim=0)  # (trees, n): first feature on ties
        flat = segment + tree_index * slots
        best = torch.full((trees * slots,), -torch.inf, dtype=torch.float64, device=device)
        best = best.scatter_reduce(0, flat.reshape(-1), best_over_features.reshape(-1), "amax")
        if ties is not None and features > 1:
            # scikit-learn's order: the features in a random order per node; the first to reach the
            # node's best gain wins, at its lowest position
            reaches = ((gain == best[flat][None]) & torch.isfinite(gain)).reshape(features, -1).double()
            where = flat.reshape(1, -1).expand(features, -1)
            attains = torch.zeros((features, trees * slots), dtype=torch.float64, device=device)
            attains = attains.scatter_reduce(1, where, reaches, "amax")
            keys = torch.rand((features, trees * slots), generator=ties, device=device, dtype=torch.float64)
            best_feature = torch.where(attains > 0, keys, -1.0).argmax(dim=0)[flat]  # (trees, n)
            best_over_features = gain.gather(0, best_feature[None]).squeeze(0)
        del gain
        hit = (best_over_features == best[flat]) & torch.isfinite(best_over_features)
        first = torch.full((trees * slots,), n, dtype=torch.long, device=device)
        first = first.scatter_reduce(0, flat.reshape(-1), torch.where(hit, position, n).reshape(-1), "amin")
        has_split = (first < n).view(trees, slots)
        p = first.clamp(max=n - 2).view(trees, slots)
        feature = best_feature.gather(1, p)
        below = x[perm[feature, tree_index, p].long() % n, feature]
        above = x[perm[feature, tree_index, p + 1].long() % n, feature]
        threshold = below / 2.0 + above / 2.0  # scikit-learn's sum of halves
        split = (feature, threshold, has_split)
        go_right = _goes_right(x, node, *split)
        child = 2 * node + go_right
        c_count, c_total, c_squares = _segment_stats(child, g, 2 * slots)  # the next level's nodes
        weighted = (c_count * _impurity(c_count, c_total, c_squares)).view(trees, slots, 2)
        decrease = (count * impurity - weighted[..., 0] - weighted[..., 1]) / n
        importance += _per_node(feature, torch.where(has_split, decrease, 0.0)[..., None], features)[..., 0]
        if depth + 1 < max_depth:
            n_lefts = c_count.view(trees, slots, 2)[..., 0].long()
            target = _partition_targets(go_right, perm, segment, seg_start, n_lefts)
            perm = torch.empty_like(perm).scatter_(2, target, perm)
            tied_pos = torch.where(tied_pos < 0, -1, target.gather(2, tied_pos.clamp(min=0)))
        node, node_test = child, 2 * node_test + _goes_right(feats.x_test, node_test, *split)
        open_ = has_split.repeat_interleave(2, dim=1)
        count, total, squares = c_count, c_total, c_squares
    return node, node_test, importance


def _goes_right(points, node, feature, threshold, has_split) -> torch.Tensor:
    """Which points ``(n, F)`` leave their node ``(trees, n)`` to the right: x > threshold."""
    value = points.T.gather(0, feature.gather(1, node))
    return has_split.gather(1, node) & (value > threshold.gather(1, node))


def _forbid_close_splits(gain: torch.Tensor, feats: _Features, perm: torch.Tensor, tied_pos: torch.Tensor) -> None:
    """No split between node neighbours less than 1e-7 apart (scikit-learn's FEATURE_THRESHOLD).

    Only a point whose next larger value over all the data is that close can have such a
    neighbour, so only those (at ``tied_pos`` in each row) are looked at.
    """
    n, features = feats.x.shape
    at = tied_pos.clamp(min=0)
    after = perm.gather(2, (at + 1).clamp(max=n - 1)).long() % n
    feature = torch.arange(features, device=gain.device)[:, None, None]
    value = feats.x[feats.tied.clamp(min=0)[:, None, :], feature]
    close = (feats.x[after, feature] <= value + FEATURE_THRESHOLD) & (tied_pos >= 0) & (at + 1 < n)
    gain.scatter_(2, torch.where(close, at, n - 1).long(), -torch.inf)  # a row's last position never splits


def _partition_targets(go_right, perm, segment, seg_start, n_lefts) -> torch.Tensor:
    """Where each row's entries go when every node's segment is stably partitioned, its left
    child's points first: ``(features, trees, n)``."""
    index = perm.dtype
    right = _in_layout(go_right, perm)
    lefts = torch.cumsum(~right, dim=2, dtype=index)  # lefts up to and including each position
    lefts_before_segment = _exclusive_cumsum(n_lefts).gather(1, segment)
    position = torch.arange(perm.shape[2], device=perm.device)
    to_left = (seg_start - 1 - lefts_before_segment).to(index)
    to_right = (n_lefts.gather(1, segment) + position + lefts_before_segment).to(index)
    return torch.where(right, to_right - lefts, lefts + to_left)


def _newton_step(leaf, gradient, onehot, factor, leaves: int) -> torch.Tensor:
    """Each leaf's value ``(trees, leaves)``: one Newton step of the log loss from the leaf's
    mean negative gradient and mean Hessian p(1 − p), 0 where the Hessian vanishes (scikit-learn's)."""
    prob = onehot - gradient
    count, numerator, hessian = _per_node(
        leaf, torch.stack([torch.ones_like(gradient), gradient, prob * (1 - prob)], dim=2), leaves
    ).unbind(dim=2)
    count = count.clamp(min=1)
    denominator = hessian / count
    return torch.where(denominator.abs() < 1e-150, 0.0, numerator / count * factor[:, None] / denominator)


def tie_seed(ties: Ties, rng: np.random.Generator) -> int | None:
    """The seed a metric's trees break ties from: drawn from its stream ``rng`` for ``random``
    (after its samples, so they stay as they were), none for ``lowest``."""
    return int(rng.integers(2**63)) if ties == "random" else None


def _tensor_grower(feats: _Features, max_depth: int, tie_seed: int | None):
    """Every stage's trees grown as tensors (:func:`_grow`), as many at a time as
    :data:`ELEMENTS_PER_CHUNK` allows: the form for a GPU."""
    ties = None if tie_seed is None else torch.Generator(feats.x.device).manual_seed(tie_seed)
    chunk = max(1, ELEMENTS_PER_CHUNK // feats.x.numel())

    def grow(gradient: torch.Tensor):
        columns = range(0, gradient.shape[1], chunk)
        parts = [_grow(feats, gradient[:, lo : lo + chunk], max_depth, ties) for lo in columns]
        return tuple(torch.cat(part) for part in zip(*parts))

    return grow


def _compiled_grower(feats: _Features, max_depth: int, tie_seed: int):
    """Every stage's trees grown by the compiled CPU kernel (:mod:`benchbench.plugin.tree_kernel`),
    scikit-learn's trees in one pass over each feature's order, about five times faster on a CPU;
    its tie keys drawn from ``tie_seed``."""
    import numba

    from benchbench.plugin import tree_kernel  # deferred: compiling (or loading) the kernel takes a moment

    threads = torch.get_num_threads()  # as --threads says
    kernel_threads = min(threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(kernel_threads)
    order, values = feats.order.numpy(), feats.values.numpy()
    x, x_test = feats.x.numpy(), feats.x_test.numpy()
    ties = np.random.default_rng(tie_seed)

    def grow(gradient: torch.Tensor):
        g = np.ascontiguousarray(gradient.numpy().T)
        keys = ties.random((max_depth, g.shape[0], 2 ** (max_depth - 1), x.shape[1]))
        grown = tree_kernel.grow(
            order, values, x, x_test, g, max_depth, keys, FEATURE_THRESHOLD, EPSILON, kernel_threads
        )
        if torch.get_num_threads() != threads:  # numba's OpenMP pool, at its start, gave the process every core
            torch.set_num_threads(threads)
        return tuple(torch.from_numpy(a) for a in grown)

    return grow


def fit_classifiers(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    n_estimators: int = 100,
    learning_rate: float = 0.1,
    max_depth: int = 3,
    device: str | torch.device = "cpu",
    tie_seed: int | None = None,
) -> list[BoostedFit]:
    """One boosted classifier per column of ``y_train (n, J)`` on the shared features ``x_train
    (n, F)``; features tied for a split chosen at random from ``tie_seed`` (else the lowest)."""
    device = torch.device(device)
    feats = _Features.build(x_train, x_test, device)
    n, features = feats.x.shape
    targets = _Targets.build(np.asarray(y_train).reshape(n, -1), device)
    raw, raw_test = targets.initial_raw(n, feats.x_test.shape[0])
    factor = targets.newton_factor()
    trees = targets.onehot.shape[1]
    grower = _compiled_grower if device.type == "cpu" and tie_seed is not None else _tensor_grower
    grow = grower(feats, max_depth, tie_seed)
    importance = torch.zeros(trees, features, dtype=torch.float64, device=device)
    for _ in range(n_estimators):
        gradient = targets.negative_gradient(raw)
        leaf, leaf_test, gain = grow(gradient)
        importance += gain
        value = _newton_step(leaf, gradient.T, targets.onehot.T, factor, 2**max_depth)
        raw += learning_rate * value.gather(1, leaf).T
        raw_test += learning_rate * value.gather(1, leaf_test).T
    fits = []
    for j, cols in enumerate(targets.slices):
        total = importance[cols].sum(dim=0)
        share = total / total.sum() if total.sum() > 0 else total
        fits.append(
            BoostedFit(
                classes=targets.classes[j],
                importance=share.cpu().numpy(),
                train_prediction=targets.predict(j, raw),
                test_prediction=targets.predict(j, raw_test),
            )
        )
    return fits
