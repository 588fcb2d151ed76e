"""Sampling and encoding helpers for metric plugins, for ground-truth and labelled datasets alike.

Metrics ask for representations by dataset *index*: a :class:`~benchbench.evaluate.ModelView`
then encodes each image at most once per model and serves every later request from its cache,
so a suite of metrics costs at most one pass over the images it touches.  Any other model —
anything with ``encode(images) → (n, d) array`` — is called on the images directly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from benchbench.data import Dataset, GroundTruthDataset, LabelledDataset
from benchbench.registry import BenchbenchError, MetricNotApplicable

CHUNK = 4096  # images per encode call for models without an index cache

#: A metric's ``mode``: ``"compat"`` reproduces what disentanglement_lib's published numbers were
#: computed with, quirks included; ``"default"`` fixes its failure cases (see docs/metrics.md).
Mode = Literal["default", "compat"]


def logistic_regression(mode: Mode):
    """The logistic regression a metric fits.  ``compat``: the one disentanglement_lib ran on,
    scikit-learn ≤ 0.21's default (liblinear, one binary problem per class); ``default``: today's
    scikit-learn default (lbfgs, multinomial), given room to converge."""
    from sklearn.linear_model import (
        LogisticRegression,  # deferred: scikit-learn takes seconds to import, and every command loads the metrics
    )
    from sklearn.multiclass import OneVsRestClassifier

    if mode == "compat":
        return OneVsRestClassifier(LogisticRegression(solver="liblinear"))
    return LogisticRegression(max_iter=1000)


def label_names(dataset: Dataset) -> tuple[str, ...]:
    """Factor names of a ground-truth dataset, label names of a labelled one."""
    if isinstance(dataset, GroundTruthDataset):
        return tuple(dataset.factor_names)
    if isinstance(dataset, LabelledDataset):
        return tuple(dataset.label_names)
    raise BenchbenchError(f"dataset {type(dataset).__name__} has neither factors nor labels")


def labels_at(dataset: Dataset, indices: np.ndarray) -> np.ndarray:
    """Factor values (ground truth) or labels (labelled) of the images at ``indices``: ``(..., K)``."""
    indices = np.asarray(indices, dtype=np.int64)
    if isinstance(dataset, GroundTruthDataset):
        return dataset.index_to_factors(indices)
    label_names(dataset)  # raises for datasets with neither
    return np.asarray(dataset.labels)[indices]


def sample_indices(dataset: Dataset, shape: int | tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Indices drawn uniformly over the dataset (uniform factors for a ground-truth dataset)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(dataset, GroundTruthDataset):
        n = int(np.prod(shape))
        return dataset.factors_to_index(dataset.sample_factors(n, rng)).reshape(shape)
    return rng.integers(0, len(dataset), size=shape)


def partners(dataset: Dataset, reference: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each reference index, a random index that shares factor/label ``k`` with it.

    ``k`` broadcasts against ``reference``.  Ground truth: the other factors are drawn uniformly
    (disentanglement_lib's pair sampling).  Labelled: a uniform draw among the images whose
    label ``k`` has the reference's value.
    """
    if dataset.observed_only:
        raise MetricNotApplicable(
            f"{dataset.name} is a fixed set of observations: there are no others to draw that share a factor"
        )
    reference = np.asarray(reference, dtype=np.int64)
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), reference.shape)
    if isinstance(dataset, GroundTruthDataset):
        fixed = dataset.index_to_factors(reference)
        other = dataset.sample_factors(reference.size, rng).reshape(fixed.shape)
        np.put_along_axis(other, k[..., None], np.take_along_axis(fixed, k[..., None], axis=-1), axis=-1)
        return dataset.factors_to_index(other)
    labels = np.asarray(dataset.labels)
    out = np.empty_like(reference)
    u = rng.random(reference.shape)
    for j in np.unique(k):
        mask = k == j
        order = np.argsort(labels[:, j], kind="stable")
        values, starts, counts = np.unique(labels[order, j], return_index=True, return_counts=True)
        slot = np.searchsorted(values, labels[reference[mask], j])
        out[mask] = order[starts[slot] + (u[mask] * counts[slot]).astype(np.int64)]
    return out


def encode(dataset: Dataset, model, indices: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Representations ``μ`` of the observations at ``indices``, shape ``indices.shape + (d,)``.

    A :attr:`~benchbench.data.Dataset.stochastic` dataset's nuisance is drawn from ``rng`` for
    each observation (so it needs one); other datasets' codes come from the model's per-image
    cache when it has one."""
    indices = np.asarray(indices, dtype=np.int64)
    flat = indices.reshape(-1)
    if dataset.stochastic:
        if rng is None:
            raise ValueError(f"{type(dataset).__name__} draws a nuisance per observation: pass the metric's rng")
        codes = np.concatenate(
            [
                np.asarray(model.encode(dataset.observations(flat[i : i + CHUNK], rng)))
                for i in range(0, flat.size, CHUNK)
            ]
        )
    elif hasattr(model, "encode_indices"):
        codes = model.encode_indices(dataset, flat)
    else:
        codes = np.concatenate(
            [np.asarray(model.encode(dataset.images_at(flat[i : i + CHUNK]))) for i in range(0, flat.size, CHUNK)]
        )
    return codes.reshape(indices.shape + codes.shape[-1:])


def sample_codes(dataset: Dataset, model, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(μ (n, d), labels (n, K))`` for ``n`` uniformly drawn images (disentanglement_lib's
    ``generate_batch_factor_code``, transposed to rows = points)."""
    indices = sample_indices(dataset, n, rng)
    return encode(dataset, model, indices, rng), labels_at(dataset, indices)
