"""The dataset protocol every metric and the trainer rely on, and on-device image storage.

Modelled on disentanglement_lib's ``GroundTruthData``: a dataset names its factors of
variation and their sizes, samples factor combinations, and renders images for them.
Images are float32 arrays shaped ``(n, C, H, W)`` with values in [0, 1].

For training, a dataset hands the trainer an :class:`ImageStore`: all training images
kept on the device in a compact uint8 form and expanded batch by batch, so sampling never
passes through a per-item Python ``__getitem__``.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import platformdirs
import torch


def data_dir() -> Path:
    """Where datasets are cached: ``$BENCHBENCH_DATA`` or the user cache directory."""
    root = os.environ.get("BENCHBENCH_DATA") or platformdirs.user_cache_dir("benchbench")
    return Path(root).expanduser()


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` via a temp file + rename, so a crash never leaves half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ImageStore(abc.ABC):
    """Images on a device in a compact form; :meth:`batch` expands indices to float images."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """Float32 images ``(B, C, H, W)`` in [0, 1] for a LongTensor of indices on the device."""


class Uint8Images(ImageStore):
    """Images stored as uint8 (0–255) ``(N, C, H, W)``."""

    def __init__(self, array: np.ndarray, device: torch.device):
        self.data = torch.as_tensor(np.require(array, requirements="CW")).to(device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return self.data[indices].float().div_(255.0)


class PackedBinaryImages(ImageStore):
    """Binary images stored as bits along the width (``np.packbits(axis=-1)``), 8× smaller.

    ``packed`` has shape ``(N, H, W // 8)``; images expand to ``(B, 1, H, W)``.
    """

    def __init__(self, packed: np.ndarray, device: torch.device):
        self.data = torch.as_tensor(np.require(packed, requirements="CW")).to(device)
        self._shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=device)

    def __len__(self) -> int:
        return self.data.shape[0]

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        rows = self.data[indices]  # (B, H, W/8)
        bits = (rows.unsqueeze(-1) >> self._shifts) & 1  # (B, H, W/8, 8)
        return bits.reshape(rows.shape[0], 1, rows.shape[1], -1).float()


class Dataset(abc.ABC):
    """What every dataset offers: images by index, a device store, and a fixed train/test split.

    Subclasses set ``image_shape`` and ``likelihood`` (``"bernoulli"`` for binary images,
    ``"gaussian"`` for colour) and implement ``__len__``, :meth:`images_at` and :meth:`image_store`.
    """

    name: str = ""
    description: str = ""
    image_shape: tuple[int, int, int] = (1, 64, 64)
    likelihood: str = "bernoulli"
    test_fraction: float = 0.1
    split_seed: int = 0

    @classmethod
    def check_available(cls) -> None:
        """Raise :class:`~benchbench.registry.BenchbenchError` if the files are missing."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def images_at(self, indices: np.ndarray) -> np.ndarray:
        """Float32 images ``(n, C, H, W)`` in [0, 1] for dataset indices."""

    @abc.abstractmethod
    def image_store(self, device: torch.device) -> ImageStore:
        """All images on ``device`` in compact form, indexed like :meth:`images_at`."""

    @functools.cached_property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """``(train, test)`` index arrays, each sorted; the same for every run."""
        n = len(self)
        perm = np.random.default_rng(self.split_seed).permutation(n)
        n_test = int(round(n * self.test_fraction))
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])

    @property
    def train_indices(self) -> np.ndarray:
        return self.split[0]

    @property
    def test_indices(self) -> np.ndarray:
        return self.split[1]


class GroundTruthDataset(Dataset):
    """A dataset with known factors of variation (disentanglement_lib's ``GroundTruthData``).

    Subclasses set ``factor_names`` and ``factor_sizes``.  Images are indexed in factor order
    (the last factor varies fastest), so index ↔ factors is a mixed-radix conversion.
    """

    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()

    @property
    def factor_bases(self) -> np.ndarray:
        sizes = np.asarray(self.factor_sizes, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor combinations drawn uniformly, shape ``(n, num_factors)``."""
        sizes = np.asarray(self.factor_sizes)
        return (rng.random((n, sizes.size)) * sizes).astype(np.int64)

    def factors_to_index(self, factors: np.ndarray) -> np.ndarray:
        return np.asarray(factors, dtype=np.int64) @ self.factor_bases

    def index_to_factors(self, index: np.ndarray) -> np.ndarray:
        index = np.asarray(index, dtype=np.int64)
        return (index[..., None] // self.factor_bases) % np.asarray(self.factor_sizes)

    def images(self, factors: np.ndarray) -> np.ndarray:
        """Float32 images ``(n, C, H, W)`` in [0, 1] for factor combinations ``(n, K)``."""
        return self.images_at(self.factors_to_index(factors))


class LabelledDataset(Dataset):
    """A dataset with per-image discrete labels instead of generative factors (e.g. CelebA's 40
    binary attributes).  Subclasses set ``label_names`` and ``labels``, an int array
    ``(N, num_labels)`` (binary attributes as 0/1)."""

    label_names: tuple[str, ...] = ()
    labels: np.ndarray
    likelihood: str = "gaussian"

    def __len__(self) -> int:
        return int(self.labels.shape[0])
