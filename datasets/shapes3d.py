"""``shapes3d``: DeepMind's 3D Shapes (Kim & Mnih), ``<data root>/3dshapes/3dshapes.h5``.

Keys ``images`` (480,000 × 64 × 64 × 3 uint8) and ``labels`` (480,000 × 6 float).  Factors
floor hue (10), wall hue (10), object hue (10), scale (8), shape (4), orientation (15); a
factor's class is the rank of its label value, and the file must list every combination in
index order (orientation fastest) — checked on load.  Images are cached as uint8 CHW.
``--download`` fetches the file (268 MB, checked against its published SHA-256).
"""

from __future__ import annotations

import h5py
import numpy as np
from tqdm.auto import tqdm

from benchbench.api import (
    CachedImages,
    DatasetError,
    Download,
    GroundTruthDataset,
    cached_array,
    classes_from_values,
    data_dir,
    datasets,
    fingerprint,
    nhwc_to_nchw,
    require_files,
)

SOURCE = "https://github.com/google-deepmind/3d-shapes (the 3dshapes.h5 file)"
ROWS = 8192


@datasets.register("shapes3d")
class Shapes3D(CachedImages, GroundTruthDataset):
    """3D Shapes: 480,000 colour 64×64 images, 6 factors."""

    title = "3D Shapes"

    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    categorical_factors = ("shape",)
    image_shape = (3, 64, 64)
    likelihood = "gaussian"
    downloads = (
        Download(
            "https://storage.googleapis.com/3d-shapes/3dshapes.h5",
            "3dshapes/3dshapes.h5",
            267_573_662,
            "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
        ),
    )

    def __init__(self):
        path = data_dir() / "3dshapes" / "3dshapes.h5"
        require_files("shapes3d", [path], SOURCE)
        try:
            with h5py.File(path, "r") as f:
                labels, shape = f["labels"][()], f["images"].shape
        except (KeyError, OSError) as exc:
            raise DatasetError(f"dataset shapes3d: {path} is not a 3dshapes.h5 file ({exc})") from None
        if labels.ndim != 2 or labels.shape[1] != 6 or shape[1:] != (64, 64, 3) or shape[0] != labels.shape[0]:
            raise DatasetError(
                f"dataset shapes3d: {path}: images {shape} / labels {labels.shape}, expected (N, 64, 64, 3) / (N, 6)"
            )
        classes, self.factor_sizes = classes_from_values(labels)
        if not np.array_equal(classes, self.index_to_factors(np.arange(len(labels)))):
            raise DatasetError(f"dataset shapes3d: {path}: labels are not every factor combination in index order")

        def fill(out):
            with h5py.File(path, "r") as f:
                for start in tqdm(range(0, len(labels), ROWS), desc="shapes3d cache"):
                    out[start : start + ROWS] = nhwc_to_nchw(f["images"][start : start + ROWS])

        self.pixels = cached_array("shapes3d", f"images_{fingerprint([path])}", (len(labels), 3, 64, 64), fill)
