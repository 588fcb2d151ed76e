"""``dsprites``: the official dSprites file (Matthey et al.), same factor API as ``shapes2d``.

Reads ``<data root>/dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (or the
``.hdf5`` release).  Factor sizes come from ``latents_classes`` (colour, always one value, is
dropped), which must list every combination in index order, posY fastest — checked on load,
so the factors of image i are exactly its ``latents_classes`` row.  Images are cached
bit-packed and memory-mapped.  ``--download`` fetches the ``.hdf5`` release (28 MB, checked
against its published SHA-256).
"""

from __future__ import annotations

import h5py
import numpy as np
from tqdm.auto import tqdm

from benchbench.api import (
    NPZ_ROWS,
    CachedImages,
    DatasetError,
    Download,
    GroundTruthDataset,
    cached_array,
    data_dir,
    datasets,
    fingerprint,
    npz_chunks,
    require_files,
)

STEM = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64"
SOURCE = "https://github.com/google-deepmind/dsprites-dataset"


def _classes(path) -> np.ndarray:
    if path.suffix == ".npz":
        with np.load(path) as data:
            return np.asarray(data["latents_classes"])
    with h5py.File(path, "r") as f:
        return f["latents/classes"][()]


def _image_blocks(path, rows=NPZ_ROWS):
    if path.suffix == ".npz":
        yield from npz_chunks(path, "imgs", rows)
        return
    with h5py.File(path, "r") as f:
        for start in range(0, f["imgs"].shape[0], rows):
            yield start, f["imgs"][start : start + rows]


@datasets.register("dsprites")
class DSprites(CachedImages, GroundTruthDataset):
    """The official dSprites file: 737,280 binary 64×64 images, 5 factors."""

    title = "dSprites"

    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    categorical_factors = ("shape",)
    image_shape = (1, 64, 64)
    likelihood = "bernoulli"
    packed_bits = True
    downloads = (
        Download(
            f"https://github.com/deepmind/dsprites-dataset/blob/master/{STEM}.hdf5?raw=true",
            f"dsprites/{STEM}.hdf5",
            28_024_106,
            "729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb",
        ),
    )

    def __init__(self):
        folder = data_dir() / "dsprites"
        candidates = [folder / f"{STEM}.npz", folder / f"{STEM}.hdf5"]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            require_files("dsprites", candidates[:1], SOURCE)
        try:
            classes = _classes(path)
        except (KeyError, OSError, ValueError) as exc:
            raise DatasetError(f"dataset dsprites: {path} is not a dSprites file ({exc})") from None
        if classes.ndim != 2 or classes.shape[1] != 6:
            raise DatasetError(f"dataset dsprites: {path}: latents_classes has shape {classes.shape}, expected (N, 6)")
        self.factor_sizes = tuple(int(m) + 1 for m in classes[:, 1:].max(axis=0))
        if not np.array_equal(classes[:, 1:], self.index_to_factors(np.arange(classes.shape[0]))):
            raise DatasetError(
                f"dataset dsprites: {path}: latents_classes are not every factor combination "
                "in index order (posY fastest)"
            )
        self.path = path

        def fill(out):
            for start, block in tqdm(_image_blocks(path), desc="dsprites cache", total=-(-len(self) // NPZ_ROWS)):
                if block.shape[1:] != (64, 64):
                    raise DatasetError(f"dataset dsprites: {path}: images are {block.shape[1:]}, expected 64×64")
                out[start : start + len(block)] = np.packbits(block.astype(bool), axis=-1)

        self.pixels = cached_array("dsprites", f"images_packed_{fingerprint([path])}", (len(self), 64, 8), fill)
