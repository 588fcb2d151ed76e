"""``cars3d``: Reed et al.'s Cars3D, from its MATLAB files ``<data root>/cars/*.mat``.

Each file is one car model with key ``im``: 128 × 128 × 3 × 24 azimuths × 4 elevations, uint8.
Factors: elevation (4), azimuth (24), object (one per file, sorted by file name), in that
index order as in disentanglement_lib.  Images are resized to 64×64 (PIL Lanczos) and cached
as uint8 CHW.
"""

from __future__ import annotations

import numpy as np
import scipy.io
from PIL import Image
from tqdm.auto import tqdm

from benchbench.api import (
    CachedImages,
    DatasetError,
    GroundTruthDataset,
    cached_array,
    data_dir,
    datasets,
    fingerprint,
    require_files,
)

SOURCE = "http://www.scottreed.info/ (the cars data of Deep Visual Analogy-Making, nips2015-analogy-data.tar.gz)"


def load_car(path) -> np.ndarray:
    """One model's renders as uint8 ``(4 elevations, 24 azimuths, 3, 64, 64)``."""
    try:
        im = scipy.io.loadmat(path)["im"]
    except (KeyError, ValueError, OSError) as exc:
        raise DatasetError(f"dataset cars3d: {path} has no readable 'im' array ({exc})") from None
    if im.ndim != 5 or im.shape[2:] != (3, 24, 4):
        raise DatasetError(f"dataset cars3d: {path}: 'im' has shape {im.shape}, expected (H, W, 3, 24, 4)")
    out = np.empty((4, 24, 3, 64, 64), np.uint8)
    for e in range(4):
        for a in range(24):
            small = Image.fromarray(np.ascontiguousarray(im[:, :, :, a, e])).resize((64, 64), Image.LANCZOS)
            out[e, a] = np.asarray(small).transpose(2, 0, 1)
    return out


@datasets.register("cars3d")
class Cars3D(CachedImages, GroundTruthDataset):
    """Cars3D: colour 64×64 renders of 183 car models; factors elevation, azimuth, object."""

    title = "Cars3D"

    factor_names = ("elevation", "azimuth", "object")
    categorical_factors = ("object",)
    image_shape = (3, 64, 64)
    likelihood = "gaussian"

    def __init__(self):
        folder = data_dir() / "cars"
        files = sorted(folder.glob("*.mat")) if folder.is_dir() else []
        if not files:
            require_files("cars3d", [folder / "*.mat"], SOURCE)
        self.factor_sizes = (4, 24, len(files))

        def fill(out):
            view = out.reshape(4, 24, len(files), 3, 64, 64)
            for obj, path in enumerate(tqdm(files, desc="dataset cars3d", unit="model")):
                view[:, :, obj] = load_car(path)

        self.pixels = cached_array("cars3d", f"images_{fingerprint(files)}", (len(self), 3, 64, 64), fill)
