"""``fairness``: the unfairness of downstream classifiers (Locatello et al. 2019b, "On the Fairness
of Disentangled Representations", §4), as disentanglement_lib's ``evaluation/metrics/fairness.py``
computes it.

For each factor i, a gradient-boosted tree classifier (scikit-learn's defaults, grown by
:mod:`benchbench.plugin.boosting` as in DCI) learns it from the codes of ``num_train`` random images.
For each other factor j (the sensitive one), ``num_test_points_per_class`` factor combinations
are drawn once and factor j is set to each of its values in turn; the classifier's predictions on
each intervened set give a distribution per value of j.  Unfairness of (i, j) is the total
variation distance of each of those distributions to their pooled one: its mean weighted by the
sets' sizes (``mean_fairness``) and its maximum (``max_fairness``).  The matrices (target ×
sensitive factor) are artifacts; the scalars are disentanglement_lib's summaries, named as it
names them: ``mean_fairness:mean_pred:mean_sens`` (the paper's score: the mean over targets of
the mean over sensitive factors), and the other mean/max combinations over targets (``pred``)
and sensitive factors (``sens``).  Lower is fairer.  Needs ground-truth factors to intervene on.
"""

from __future__ import annotations

import itertools

import numpy as np

from benchbench.api import (
    COUNT,
    GroundTruthDataset,
    MetricNotApplicable,
    Ties,
    better,
    bounds,
    defined_by,
    encode,
    execution,
    fit_classifiers,
    introduced,
    metrics,
    profiles,
    sample_codes,
    shown_as,
    tie_seed,
)


def inter_group_fairness(counts: np.ndarray) -> tuple[float, float]:
    """Mean (weighted by group size) and maximum total variation distance between the predicted
    class distribution of each sensitive group (columns of ``counts``, predictions × groups) and
    the pooled one."""
    counts = np.asarray(counts, dtype=np.float64)
    pooled = counts.sum(axis=1) / counts.sum()
    per_group = counts.sum(axis=0)
    distances = np.abs(counts / per_group - pooled[:, None]).sum(axis=0) / 2
    return float((distances * per_group).sum() / per_group.sum()), float(distances.max())


#: disentanglement_lib's summaries, ``<reduction>_<outer axis>:<reduction>_<inner axis>``: e.g.
#: ``mean_pred:max_sens`` is the mean over targets of each target's maximum over sensitive factors.
ORDERS = [
    (outer, axis, inner, other)
    for outer, inner in itertools.product(("mean", "max"), repeat=2)
    for axis, other in (("pred", "sens"), ("sens", "pred"))
]
PREFIXES = ("mean_fairness", "max_fairness")


def summaries(matrix: np.ndarray, prefix: str) -> dict[str, float]:
    """The :data:`ORDERS` summaries of an off-diagonal (target × sensitive factor) matrix."""
    off = ~np.eye(matrix.shape[0], dtype=bool)
    groups = {
        "pred": [matrix[i][off[i]] for i in range(matrix.shape[0])],  # a target, over sensitive factors
        "sens": [matrix[:, j][off[:, j]] for j in range(matrix.shape[1])],  # a sensitive factor, over targets
    }
    out = {}
    for outer, axis, inner, other in ORDERS:
        innermost = [getattr(np, inner)(group) for group in groups[axis]]
        out[f"{prefix}:{outer}_{axis}:{inner}_{other}"] = float(getattr(np, outer)(innermost))
    return out


@metrics.register("fairness")
@defined_by("Locatello et al. 2019b; disentanglement_lib evaluation/metrics/fairness.py")
@better(**{f"{p}:{o}_{a}:{i}_{b}": "lower" for p in PREFIXES for o, a, i, b in ORDERS})
@shown_as(
    **{
        f"{p}:{o}_{a}:{i}_{b}": f"{p.replace('_', ' ')} ({o} over {a}, {i} over {b})"
        for p in PREFIXES
        for o, a, i, b in ORDERS
    }
)
@bounds(num_train=COUNT, num_test_points_per_class=COUNT)
@profiles(fast={"num_train": 2000, "num_test_points_per_class": 50})
@execution("device")
@introduced(ties="lowest")
def fairness(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    num_test_points_per_class: int = 100,
    ties: Ties = "random",
    device: str | None = None,
):
    """Unfairness of a factor's classifier when another factor is intervened on, as total variation.

    ``ties``: how the trees break a split tied between latents, as in ``dci`` (``random`` from
    the metric's stream, after its draws; ``lowest``, what evaluations made before it computed).
    """
    if not isinstance(dataset, GroundTruthDataset):
        raise MetricNotApplicable("fairness intervenes on ground-truth factors; this dataset has labels only")
    sizes = np.asarray(dataset.factor_sizes)
    k = sizes.size
    x_train, y_train = sample_codes(dataset, model, num_train, rng)
    sets = []  # (target i, sensitive j, value c) → the intervened factor combinations
    for i, j in itertools.permutations(range(k), 2):
        original = dataset.sample_factors(num_test_points_per_class, rng)
        for c in range(sizes[j]):
            intervened = original.copy()
            intervened[:, j] = c
            sets.append((i, j, c, intervened))
    x_test = encode(dataset, model, dataset.factors_to_index(np.concatenate([s[3] for s in sets])), rng)
    seed = tie_seed(ties, rng)
    fits = fit_classifiers(x_train, y_train, x_test, device=device or model.device, tie_seed=seed)
    mean_matrix, max_matrix = np.zeros((k, k)), np.zeros((k, k))
    counts: dict[tuple[int, int], np.ndarray] = {}
    for n, (i, j, c, _) in enumerate(sets):
        predicted = fits[i].test_prediction[n * num_test_points_per_class : (n + 1) * num_test_points_per_class]
        table = counts.setdefault((i, j), np.zeros((sizes[i], sizes[j]), dtype=np.int64))
        table[:, c] = np.bincount(predicted, minlength=sizes[i])
    for (i, j), table in counts.items():
        mean_matrix[i, j], max_matrix[i, j] = inter_group_fairness(table)
    return {
        **summaries(mean_matrix, "mean_fairness"),
        **summaries(max_matrix, "max_fairness"),
        "mean_fairness_matrix": mean_matrix,
        "max_fairness_matrix": max_matrix,
    }
