"""Small synthetic datasets whose 'images' are their factors/labels, and numpy model adapters:
representations with known answers for metric tests."""

import numpy as np
import torch

from benchbench.plugin.data import GroundTruthDataset, LabelledDataset, Uint8Images
from benchbench.plugin.representation import Representation


class ToyFactors(GroundTruthDataset):
    """4 factors; image = the factor values scaled to [0, 1], shape (1, 1, 4)."""

    factor_names = ("a", "b", "c", "d")
    image_shape = (1, 1, 4)

    def __init__(self, sizes=(4, 5, 6, 3)):
        self.factor_sizes = tuple(sizes)

    def images_at(self, indices):
        f = self.index_to_factors(np.asarray(indices))
        return (f / (np.array(self.factor_sizes) - 1)).astype(np.float32)[:, None, None, :]

    def image_store(self, device):
        return Uint8Images(np.rint(self.images_at(np.arange(len(self))) * 255).astype(np.uint8), device)


class ToyLabels(LabelledDataset):
    """``n`` images with ``k`` independent binary labels (rate 0.3); image = the labels."""

    def __init__(self, n=4000, k=5, seed=0):
        self.labels = (np.random.default_rng(seed).random((n, k)) < 0.3).astype(np.int64)
        self.label_names = tuple(f"attr{i}" for i in range(k))
        self.image_shape = (1, 1, k)

    def images_at(self, indices):
        return self.labels[np.asarray(indices)].astype(np.float32)[:, None, None, :]

    def image_store(self, device):
        return Uint8Images(self.images_at(np.arange(len(self))).astype(np.uint8), device)


class Adapter(Representation):
    """A plain numpy function of flattened images, as another library's model would be."""

    def __init__(self, fn):
        self.fn = fn

    def encode(self, images):
        images = np.asarray(images)
        return self.fn(images.reshape(images.shape[0], -1))


def factors_plus_noise(scale=0.01, seed=0):
    rng = np.random.default_rng(seed)
    return Adapter(lambda x: x + scale * rng.standard_normal(x.shape))


def rotated(seed=0, scale=0.01):
    """Factors a, b and c, d mixed pairwise by 45° rotations: every latent carries two factors."""
    rng = np.random.default_rng(seed)
    h = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    q = np.block([[h, np.zeros((2, 2))], [np.zeros((2, 2)), h]])
    return Adapter(lambda x: (x + scale * rng.standard_normal(x.shape)) @ q)


def pure_noise(dim=4, seed=0):
    rng = np.random.default_rng(seed)
    return Adapter(lambda x: rng.standard_normal((x.shape[0], dim)))


class TorchEncoder(torch.nn.Module):
    """A 'network' for ModelView whose μ is the flattened image."""

    latent_dim = 4
    has_posterior = True

    def encode(self, x):
        flat = x.flatten(1)
        return flat, torch.zeros_like(flat)
