"""Encoders that need no training, to score beside learned ones: what "no learning" and "perfect"
score on each metric.

* ``pca`` / ``ica``: scikit-learn's ``PCA`` / ``FastICA`` (unit-variance whitening) with
  ``latent_dim`` components, fitted on :data:`FIT_IMAGES` training images drawn with the seed;
  codes are their ``transform``, ``(x − mean) Wᵀ``, computed on the device.
* ``random``: the conv encoder (and decoder) at its seeded initialisation, never trained.
* ``factors``: the ground-truth factor values (a labelled dataset's labels) as the codes, the
  ceiling.  They are known by dataset index, so a metric that encodes images it makes (a
  dataset's nuisance drawn per observation) does not apply, nor do the sampled representation
  and the reconstruction error.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbench.arch import build_net, decoder_mean
from benchbench.data import Dataset
from benchbench.metric import MetricNotApplicable
from benchbench.registry import BenchbenchError
from benchbench.representation import labels_at

BASELINES = ("pca", "ica", "random", "factors")
FIT_IMAGES = 10_000  # training images PCA and ICA are fitted on


class Affine(torch.nn.Module):
    """``(x − mean) Wᵀ`` on flattened images: a fitted PCA's or FastICA's ``transform``."""

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("components", torch.as_tensor(components, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) - self.mean) @ self.components.T


class Untrained(torch.nn.Module):
    """The conv VAE at its initialisation: posterior and decoder, as a trained one has."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def encode(self, x):
        return self.net.encode(x)

    def decode(self, z):
        return decoder_mean(self.net.decode(z))


class FactorCodes:
    """What a metric sees of the ``factors`` baseline: codes by dataset index only."""

    device = "cpu"

    def __init__(self, dataset: Dataset):
        if dataset.stochastic:
            raise BenchbenchError("baseline:factors: this dataset draws a nuisance per observation; no codes by index")
        self.dataset = dataset

    def encode_indices(self, dataset: Dataset, indices: np.ndarray) -> np.ndarray:
        return labels_at(dataset, indices).astype(np.float32)

    def encode(self, images):
        raise MetricNotApplicable("baseline:factors knows the factors of dataset images by index, not of new images")

    reconstruct = encode

    def sampled(self, rng):
        raise MetricNotApplicable("baseline:factors has no posterior to sample")


def fitting_images(dataset: Dataset, seed: int) -> np.ndarray:
    """:data:`FIT_IMAGES` training images (all, if fewer), flattened: ``(n, pixels)``."""
    rng = np.random.default_rng(seed)
    train = dataset.train_indices
    chosen = np.sort(rng.choice(train, min(FIT_IMAGES, train.size), replace=False))
    images = dataset.observations(chosen, rng) if dataset.stochastic else dataset.images_at(chosen)
    return np.asarray(images, dtype=np.float32).reshape(chosen.size, -1)


def build(name: str, dataset: Dataset, latent_dim: int, seed: int):
    """The baseline ``name`` for ``dataset``: an encoder for :mod:`benchbench.scoring`, or, for
    ``factors``, the view metrics see."""
    if name not in BASELINES:
        raise BenchbenchError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
    if name == "factors":
        return FactorCodes(dataset)
    if name == "random":
        with torch.random.fork_rng(devices=[]):  # seeded, leaving the caller's stream alone
            torch.manual_seed(seed)
            return Untrained(build_net("conv", dataset.image_shape, latent_dim))
    from sklearn.decomposition import PCA, FastICA

    x = fitting_images(dataset, seed)
    if name == "pca":
        fitted = PCA(n_components=latent_dim, random_state=seed).fit(x)
    else:
        fitted = FastICA(n_components=latent_dim, whiten="unit-variance", random_state=seed, max_iter=1000).fit(x)
    return Affine(fitted.mean_, fitted.components_)
