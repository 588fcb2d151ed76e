"""``attribute_accuracy``: the seed's Table 2 classifier of binary attributes from ``μ``.

For each attribute k: ``w_k`` = mean ``μ`` over training images with the attribute − mean over
those without; the score of an image is ``s = w_k · μ(x)``; a bias b is learned by minimising
the hinge loss ``Σ_i max(0, 1 − y_i (s_i + b))`` (y = ±1) on the training scores, exactly: the
loss is convex and piecewise linear in b, so its minimum lies at a breakpoint ``b = y_i − s_i``
and all of them are evaluated at once with prefix sums.  Reported: test accuracy (%) of
``sign(s + b)`` per attribute, and their mean.  Applies to datasets with binary labels.
"""

from __future__ import annotations

import numpy as np

from benchbench.api import (
    COUNT,
    LabelledDataset,
    MetricNotApplicable,
    Shown,
    better,
    bounds,
    defined_by,
    encode,
    metrics,
    profiles,
    shown_as,
)


def hinge_bias(scores: np.ndarray, y: np.ndarray) -> float:
    """The b minimising ``Σ max(0, 1 − y (s + b))`` for labels y ∈ {−1, +1} (lowest on ties)."""
    pos_c = np.sort(1.0 - scores[y > 0])  # positives lose (c − b) while b < c
    neg_e = np.sort(-1.0 - scores[y < 0])  # negatives lose (b − e) while b > e
    candidates = np.unique(np.concatenate([pos_c, neg_e]))
    pos_suffix = np.concatenate([np.cumsum(pos_c[::-1])[::-1], [0.0]])
    neg_prefix = np.concatenate([[0.0], np.cumsum(neg_e)])
    i = np.searchsorted(pos_c, candidates, side="right")  # positives with c > b: i …
    j = np.searchsorted(neg_e, candidates, side="left")  # negatives with e < b: … j
    loss = (pos_suffix[i] - (pos_c.size - i) * candidates) + (j * candidates - neg_prefix[j])
    return float(candidates[np.argmin(loss)])


@metrics.register("attribute_accuracy")
@defined_by("Kumar et al. 2018 (DIP-VAE), Table 2")
@better(mean="higher")
@shown_as(mean=Shown("attribute accuracy, mean over attributes", to_percent=1))
@bounds(num_train=COUNT, num_test=COUNT)
@profiles(fast={"num_train": 5000, "num_test": 2000})
def attribute_accuracy(dataset, model, rng, *, num_train: int | None = None, num_test: int | None = None):
    """Per-attribute test accuracy (%) of the mean-difference direction plus a hinge-loss bias."""
    if not isinstance(dataset, LabelledDataset) or not np.isin(dataset.labels, (0, 1)).all():
        raise MetricNotApplicable("attribute_accuracy needs a labelled dataset with binary labels")
    train, test = dataset.train_indices, dataset.test_indices
    if num_train is not None and num_train < train.size:
        train = np.sort(rng.choice(train, num_train, replace=False))
    if num_test is not None and num_test < test.size:
        test = np.sort(rng.choice(test, num_test, replace=False))
    mu_train, mu_test = encode(dataset, model, train, rng).astype(np.float64), encode(dataset, model, test, rng)
    y_train, y_test = dataset.labels[train], dataset.labels[test]
    out = {}
    for k, name in enumerate(dataset.label_names):
        on = y_train[:, k] == 1
        if on.all() or not on.any():
            continue
        w = mu_train[on].mean(axis=0) - mu_train[~on].mean(axis=0)
        b = hinge_bias(mu_train @ w, np.where(on, 1.0, -1.0))
        predicted = (mu_test @ w + b) > 0
        out[name] = 100.0 * np.mean(predicted == (y_test[:, k] == 1))
    out["mean"] = float(np.mean(list(out.values()))) if out else float("nan")
    return out
