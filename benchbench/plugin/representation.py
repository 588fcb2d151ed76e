"""What a metric scores, and helpers to sample and encode, for ground-truth and labelled datasets alike.

:class:`Representation` declares everything a metric may call of the model it is handed —
whether that is a network trained here (:class:`ModelView`), one of its earlier snapshots, an
encoder trained elsewhere, a matrix of codes or a baseline — and :meth:`Representation.sampled`
gives the same model's codes drawn from ``q(z|x)`` (:class:`SampledView`).  What a
representation cannot give (a decoder, a posterior, codes of new images) is
:class:`MetricNotApplicable`, which the evaluator records as such.

Metrics ask for representations by dataset *index*: a :class:`ModelView` then encodes each image
at most once per model and serves every later request from its cache, so a suite of metrics
costs at most one pass over the images it touches.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch

from benchbench.core.registry import BenchbenchError, MetricNotApplicable
from benchbench.plugin.data import Dataset, GroundTruthDataset, LabelledDataset

CHUNK = 4096  # images per encode call of a representation without an index cache


def _chunked(fn, dataset: Dataset, indices: np.ndarray):
    """``fn`` of the dataset images at ``indices``, :data:`CHUNK` images at a time; ``fn`` gives
    an array or a tuple of arrays, joined alike."""
    parts = [fn(dataset.images_at(indices[i : i + CHUNK])) for i in range(0, indices.size, CHUNK)] or [
        fn(dataset.images_at(indices[:0]))
    ]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(parts[0])))
    return np.concatenate([np.asarray(p) for p in parts])


class Representation:
    """What a metric may call of the model it scores: the one protocol of every scored thing.

    Images are numpy or tensor ``(n, C, H, W)`` in [0, 1]; codes come back as numpy ``(n, d)``.
    A representation gives :meth:`encode` or :meth:`encode_indices` (or both) and what else it
    can; everything it cannot give says :class:`MetricNotApplicable` in words naming it
    (``label``).  ``device`` is where a metric that computes on tensors should (its models live
    there); ``has_posterior`` whether :meth:`posterior` exists, so sampled codes can be drawn."""

    label = "the model"
    latent_dim: int
    device: torch.device | str = "cpu"
    has_posterior = False
    #: whether a dataset image's code depends on its index alone, not on the order or company in
    #: which a call asks for it (a per-image table does; a draw per call does not), so that a
    #: metric may gather codes in whatever order it reduces them fastest (:func:`encode_pairs`)
    codes_by_index = False

    def encode(self, images) -> np.ndarray:
        """Codes ``(n, d)`` of ``images``: the posterior mean ``μ(x)`` (sampled codes: a draw)."""
        raise MetricNotApplicable(f"{self.label} has codes of dataset images by index, not of new images")

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        """Codes of the dataset images at ``indices`` (1-D); by default :meth:`encode` of them."""
        return _chunked(self.encode, dataset, np.asarray(indices, dtype=np.int64))

    def posterior(self, images) -> tuple[np.ndarray, np.ndarray]:
        """``(μ(x), log σ²(x))``, each ``(n, d)``."""
        raise MetricNotApplicable(f"{self.label} gives no posterior log-variance")

    def posterior_indices(self, dataset: Dataset, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`posterior` of the dataset images at ``indices``."""
        return _chunked(self.posterior, dataset, np.asarray(indices, dtype=np.int64))

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoder means at the codes ``z``, the images' shape."""
        raise MetricNotApplicable(f"{self.label} is without a decoder (decode(z) -> images)")

    def reconstruct(self, images) -> np.ndarray:
        """Decoder mean at ``z = μ(x)``, the images' shape."""
        raise MetricNotApplicable(f"{self.label} is without a decoder (decode(z) -> images)")

    def reconstruct_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        """:meth:`reconstruct` of the dataset images at ``indices``; a model that caches codes by
        index decodes its cached ones."""
        return self.reconstruct(dataset.images_at(np.asarray(indices, dtype=np.int64)))

    def sampled(self, rng: np.random.Generator) -> SampledView:
        """This model with codes sampled from ``q(z|x)``, drawn from ``rng`` (:class:`SampledView`)."""
        if not self.has_posterior:
            raise MetricNotApplicable(f"{self.label} gives no posterior log-variance: no codes to sample")
        return SampledView(self, rng)


class SampledView(Representation):
    """A model evaluated on sampled codes (disentanglement_lib's ``sampled`` postprocessing):
    every code is ``z = μ(x) + σ(x)·ε`` with ``ε ~ N(0, I)`` drawn afresh from ``rng`` (the
    evaluation's own stream) at each call, so one image seen twice gets two codes; ``μ`` and
    ``log σ²`` of dataset images come from the mean view's cache.  A reconstruction decodes the
    sampled code."""

    has_posterior = True

    def __init__(self, view: Representation, rng: np.random.Generator):
        self.view, self.rng = view, rng
        self.label, self.latent_dim, self.device = view.label, view.latent_dim, view.device

    def _sample(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        eps = self.rng.standard_normal(mu.shape, dtype=np.float32)
        return mu + np.exp(0.5 * logvar) * eps

    def encode(self, images) -> np.ndarray:
        return self._sample(*self.view.posterior(images))

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return self._sample(*self.view.posterior_indices(dataset, indices))

    def posterior(self, images) -> tuple[np.ndarray, np.ndarray]:
        return self.view.posterior(images)

    def posterior_indices(self, dataset: Dataset, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.view.posterior_indices(dataset, indices)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.view.decode(z)

    def reconstruct(self, images) -> np.ndarray:
        return self.decode(self.encode(images))

    def reconstruct_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return self.decode(self.encode_indices(dataset, indices))


class ModelView(Representation):
    """A network as a representation: ``net.encode(x) → (μ, log σ²)``, ``net.decode_mean(z)``,
    ``net.latent_dim`` and ``net.has_posterior``, computed in batches on ``device``.

    :meth:`posterior_indices` caches ``μ`` and ``log σ²`` per dataset image, so however many
    metrics ask for an image, it is encoded once (``images_encoded`` counts the encoder's work,
    ``network_seconds`` the time spent in the network, encoding and decoding).
    """

    codes_by_index = True  # the per-image cache

    def __init__(self, net: torch.nn.Module, device: torch.device | str, batch_size: int = 1024, label: str = ""):
        self.net = net.to(device).eval()
        self.device = torch.device(device)
        self.label = label or type(self).label
        self.latent_dim, self.has_posterior = net.latent_dim, net.has_posterior
        self.batch_size = batch_size
        self.images_encoded = 0
        self.network_seconds = 0.0
        self._cache: dict[int, tuple[object, np.ndarray, np.ndarray, np.ndarray]] = {}

    @torch.no_grad()
    def _map(self, images, fn) -> np.ndarray:
        images = torch.as_tensor(images)
        t0 = time.perf_counter()
        out = [
            fn(images[i : i + self.batch_size].to(self.device, torch.float32)).cpu()
            for i in range(0, images.shape[0], self.batch_size)
        ]
        self.network_seconds += time.perf_counter() - t0
        return torch.cat(out).numpy() if out else np.empty((0,))

    def encode(self, images) -> np.ndarray:
        return self._map(images, lambda x: self.net.encode(x)[0])

    def posterior(self, images) -> tuple[np.ndarray, np.ndarray]:
        both = self._map(images, lambda x: torch.cat(self.net.encode(x), dim=1))
        return np.split(both, 2, axis=1)

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        return np.take(self._cached(dataset, indices)[0], indices, axis=0)

    def posterior_indices(self, dataset: Dataset, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(μ, log σ²)`` of the dataset images at ``indices``, encoding only those not seen before."""
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(np.take(table, indices, axis=0) for table in self._cached(dataset, indices))

    @torch.no_grad()
    def _cached(self, dataset: Dataset, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The per-image tables of ``μ`` and ``log σ²``, with the images at ``indices`` encoded."""
        key = id(dataset)
        if key not in self._cache:
            n, d = len(dataset), self.latent_dim
            zeros = np.zeros((n, d), np.float32)
            self._cache[key] = (dataset.image_store(self.device), zeros, zeros.copy(), np.zeros(n, bool))
        store, mus, logvars, done = self._cache[key]
        todo = np.unique(indices[~done[indices]])
        t0 = time.perf_counter()
        for i in range(0, todo.size, self.batch_size):
            chunk = todo[i : i + self.batch_size]
            mu, logvar = self.net.encode(store.batch(torch.as_tensor(chunk, device=self.device)))
            mus[chunk], logvars[chunk] = mu.float().cpu().numpy(), logvar.float().cpu().numpy()
        done[todo] = True
        self.images_encoded += todo.size
        self.network_seconds += time.perf_counter() - t0
        return mus, logvars

    def reconstruct(self, images) -> np.ndarray:
        return self._map(images, lambda x: self.net.decode_mean(self.net.encode(x)[0]))

    def reconstruct_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return self.decode(self.encode_indices(dataset, indices))

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self._map(z, self.net.decode_mean)


#: A metric's ``mode``: ``"compat"`` reproduces what disentanglement_lib's published numbers were
#: computed with, quirks included; ``"default"`` fixes its failure cases (see docs/metrics.md).
Mode = Literal["default", "compat"]

#: Who fits a metric's predictor: ``"batched"``, benchbench's exact batched solver, every problem
#: at once on the model's device; ``"scikit-learn"``, scikit-learn one problem after another.
Solver = Literal["batched", "scikit-learn"]


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
    return _drawn(dataset, shape, rng)[0]


def _drawn(dataset: Dataset, shape: int | tuple[int, ...], rng: np.random.Generator):
    """:func:`sample_indices`, with the factors drawn for them ``(..., K)`` for a ground-truth
    dataset (``None`` for a labelled one): they are the images' labels, without decoding them
    from the indices again."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if isinstance(dataset, GroundTruthDataset):
        factors = dataset.sample_factors(int(np.prod(shape)), rng)
        return dataset.factors_to_index(factors).reshape(shape), factors.reshape(*shape, -1)
    return rng.integers(0, len(dataset), size=shape), None


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
    if isinstance(dataset, GroundTruthDataset):  # the drawn factors' index with factor k's term swapped
        other = dataset.sample_factors(reference.size, rng).reshape(*reference.shape, -1)
        base, size = dataset.factor_bases[k], np.asarray(dataset.factor_sizes, dtype=np.int64)[k]
        drawn = np.take_along_axis(other, k[..., None], axis=-1)[..., 0]
        return dataset.factors_to_index(other) + (reference // base % size - drawn) * base
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


def encode(
    dataset: Dataset, model: Representation, indices: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Representations ``μ`` of the observations at ``indices``, shape ``indices.shape + (d,)``.

    A :attr:`~benchbench.plugin.data.Dataset.stochastic` dataset's nuisance is drawn from ``rng`` for
    each observation (so it needs one); other datasets' codes are the representation's by index
    (a :class:`ModelView`'s from its per-image cache)."""
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
    else:
        codes = np.asarray(model.encode_indices(dataset, flat))
    return codes.reshape(indices.shape + codes.shape[-1:])


def encode_pairs(
    dataset: Dataset, model: Representation, indices: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """:func:`encode` of ``indices (n, pairs)``, shaped pair-first, ``(pairs, n, d)``, for
    :func:`reduce_pairs`.  Gathered pair-first where the codes are the model's by index
    (:attr:`Representation.codes_by_index`, and a dataset without a per-observation nuisance);
    otherwise encoded in the points' order, as :func:`encode` of ``indices`` draws them (sampled
    codes' noise, a nuisance), and returned as a pair-first view of that memory."""
    if dataset.stochastic or not model.codes_by_index:
        return np.moveaxis(encode(dataset, model, indices, rng), 1, 0)
    return encode(dataset, model, np.asarray(indices).T, rng)


def reduce_pairs(reduce, codes: np.ndarray) -> np.ndarray:
    """``reduce(c, axis=1)`` of the point-first codes ``c (n, pairs, d)`` given pair-first,
    ``codes (pairs, n, d)`` (:func:`encode_pairs`), with the point-first reduction's bits: numpy
    reduces the pairs of the point-first layout one after another, as it reduces the leading axis
    of the pair-first one, whose inner loops are ``n·d`` values long instead of ``d`` where the
    memory is pair-first (4–7× faster; a point-first view goes as fast as before).  A single
    latent's pairs numpy sums pairwise, so for one latent the point-first layout is reduced."""
    if codes.shape[-1] == 1:
        return reduce(np.ascontiguousarray(np.moveaxis(codes, 0, 1)), axis=1)
    return reduce(codes, axis=0)


def sample_codes(
    dataset: Dataset, model: Representation, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(μ (n, d), labels (n, K))`` for ``n`` uniformly drawn images (disentanglement_lib's
    ``generate_batch_factor_code``, transposed to rows = points)."""
    indices, factors = _drawn(dataset, n, rng)
    return encode(dataset, model, indices, rng), labels_at(dataset, indices) if factors is None else factors
