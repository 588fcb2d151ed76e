"""``smallnorb``: small NORB (LeCun et al.) from its original binary matrix files.

Reads ``<data root>/smallnorb/smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
the ``5x01235x9x18x6x2x96x96-testing`` triple.  Each file is a small-NORB binary matrix: int32
magic (0x1E3D4C55 bytes, 0x1E3D4C54 int32), int32 rank, max(3, rank) int32 dimensions, data.
The left image of each stereo pair is resized from 96×96 to 64×64 (PIL Lanczos, as
disentanglement_lib).  Factors: category (5), instance (10), elevation (9), azimuth (18, the
file's 0, 2, …, 34), lighting (6) — every combination once across the two files, placed in
index order.  Here the instance is a factor, so the dataset is a complete grid;
``smallnorb4`` is the study's version, where the instance is a nuisance drawn per observation.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from benchbench.api import (
    CachedImages,
    DatasetError,
    GroundTruthDataset,
    cached_array,
    classes_from_values,
    data_dir,
    datasets,
    fingerprint,
    require_files,
)

SOURCE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
DTYPES = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64}


def read_matrix(path) -> np.ndarray:
    """A small-NORB binary matrix file as a numpy array."""
    raw = path.read_bytes()
    if len(raw) < 20:
        raise DatasetError(f"dataset smallnorb: {path} is too short for a small-NORB header")
    magic, rank = np.frombuffer(raw, "<i4", 2)
    if magic not in DTYPES or not 0 < rank < 8:
        raise DatasetError(f"dataset smallnorb: {path} is not a small-NORB matrix (magic {magic:#x})")
    dims = np.frombuffer(raw, "<i4", max(3, rank), 8)[:rank]
    data = np.frombuffer(raw, DTYPES[magic], offset=8 + 4 * max(3, rank))
    if data.size != np.prod(dims):
        raise DatasetError(f"dataset smallnorb: {path} holds {data.size} values, its header says {tuple(dims)}")
    return data.reshape(tuple(int(d) for d in dims))


@datasets.register("smallnorb")
class SmallNORB(CachedImages, GroundTruthDataset):
    """small NORB: 48,600 grey 64×64 images of toys; 5 factors."""

    title = "SmallNORB"

    factor_names = ("category", "instance", "elevation", "azimuth", "lighting")
    categorical_factors = ("category", "instance")
    image_shape = (1, 64, 64)
    likelihood = "gaussian"

    def __init__(self):
        folder = data_dir() / "smallnorb"
        paths = {(c, k): folder / f"smallnorb-{c}-{k}.mat" for c in CHUNKS for k in ("dat", "cat", "info")}
        require_files("smallnorb", list(paths.values()), SOURCE)
        features = np.concatenate(
            [np.column_stack([read_matrix(paths[c, "cat"]), read_matrix(paths[c, "info"])]) for c in CHUNKS]
        )
        if features.ndim != 2 or features.shape[1] != 5:
            raise DatasetError(f"dataset smallnorb: cat/info files give features {features.shape}, expected (N, 5)")
        classes, self.factor_sizes = classes_from_values(features)
        order = self.factors_to_index(classes)
        if len(features) != len(self) or np.unique(order).size != len(self):
            raise DatasetError("dataset smallnorb: the files do not hold every factor combination exactly once")

        def fill(out):
            start = 0
            for c in CHUNKS:
                dat = read_matrix(paths[c, "dat"])
                if dat.ndim != 4 or dat.shape[1] != 2:
                    raise DatasetError(
                        f"dataset smallnorb: {paths[c, 'dat']} has shape {dat.shape}, expected (N, 2, H, W)"
                    )
                for i, pair in enumerate(dat):
                    left = Image.fromarray(pair[0]).resize((64, 64), Image.LANCZOS)
                    out[order[start + i], 0] = np.asarray(left)
                start += len(dat)

        key = f"images_{fingerprint(list(paths.values()))}"
        self.pixels = cached_array("smallnorb", key, (len(self), 1, 64, 64), fill)


@datasets.register("smallnorb4")
class SmallNORB4(SmallNORB):
    """small NORB as disentanglement_lib's study has it: 4 factors (category, elevation, azimuth,
    lighting), the instance a nuisance drawn uniformly for every observation (its ``norb.py``)."""

    factor_names = ("category", "elevation", "azimuth", "lighting")
    categorical_factors = ("category",)
    stochastic = True

    def __init__(self):
        super().__init__()
        category, self.instances, *rest = self.factor_sizes
        self.factor_sizes = (category, *rest)
        self.rest = int(np.prod(rest))  # images per (category, instance)

    def _stored(self, indices, instance):
        """The stored image of each index (a 4-factor combination) for the given instances."""
        return indices // self.rest * (self.instances * self.rest) + instance * self.rest + indices % self.rest

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raise TypeError("smallnorb4 draws its instance per observation: use observations(indices, rng)")

    def observations(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        instance = (rng.random(indices.shape) * self.instances).astype(np.int64)
        return SmallNORB.images_at(self, self._stored(indices, instance))

    def rows(self, indices, generator):
        instance = (torch.rand(indices.shape, generator=generator, device=indices.device) * self.instances).long()
        return self._stored(indices, instance)
