"""``mpi3d_toy``, ``mpi3d_realistic``, ``mpi3d_real``: MPI3D (Gondal et al.), the ``.npz``
releases under ``<data root>/mpi3d/``.

Key ``images`` (N × 64 × 64 × 3 uint8), stored in factor order with no labels: object colour,
object shape, object size (2), camera height (3), background colour (3), horizontal axis (40),
vertical axis (40).  N tells the release apart: 1,036,800 images (6 colours × 6 shapes) or, for
the early toy release disentanglement_lib used, 460,800 (4 × 4).  Images are cached as uint8 CHW.
"""

from __future__ import annotations

from tqdm.auto import tqdm

from benchbench.api import (
    NPZ_ROWS,
    CachedImages,
    DatasetError,
    GroundTruthDataset,
    cached_array,
    data_dir,
    datasets,
    fingerprint,
    nhwc_to_nchw,
    npz_chunks,
    npz_shape,
    require_files,
)

SOURCE = "https://github.com/rr-learning/disentanglement_dataset"
LAYOUTS = {1_036_800: (6, 6, 2, 3, 3, 40, 40), 460_800: (4, 4, 2, 3, 3, 40, 40)}


class MPI3D(CachedImages, GroundTruthDataset):
    """MPI3D: colour 64×64 images of a robot-arm scene, 7 factors."""

    title = "MPI3D"

    factor_names = (
        "object_color",
        "object_shape",
        "object_size",
        "camera_height",
        "background_color",
        "horizontal_axis",
        "vertical_axis",
    )
    categorical_factors = ("object_color", "object_shape", "background_color")  # as DCI-ES's probes have them
    image_shape = (3, 64, 64)
    likelihood = "gaussian"
    variant = ""

    def __init__(self):
        path = data_dir() / "mpi3d" / f"mpi3d_{self.variant}.npz"
        require_files(self.name, [path], SOURCE)
        try:
            shape = npz_shape(path, "images")
        except (KeyError, OSError, ValueError) as exc:
            raise DatasetError(f"dataset {self.name}: {path} has no readable 'images' array ({exc})") from None
        if shape[1:] != (64, 64, 3) or shape[0] not in LAYOUTS:
            known = " or ".join(f"{n:,}" for n in LAYOUTS)
            raise DatasetError(f"dataset {self.name}: {path}: images {shape}, expected ({known}, 64, 64, 3)")
        self.factor_sizes = LAYOUTS[shape[0]]

        def fill(out):
            for start, block in tqdm(
                npz_chunks(path, "images"), desc=f"{self.name} cache", total=-(-shape[0] // NPZ_ROWS)
            ):
                out[start : start + len(block)] = nhwc_to_nchw(block)

        self.pixels = cached_array(self.name, f"images_{fingerprint([path])}", (shape[0], 3, 64, 64), fill)


@datasets.register("mpi3d_toy")
class MPI3DToy(MPI3D):
    """MPI3D toy: simple renders of the scene; 7 factors, colour 64×64."""

    title = "MPI3D-toy"

    variant = "toy"


@datasets.register("mpi3d_realistic")
class MPI3DRealistic(MPI3D):
    """MPI3D realistic: realistic renders of the scene; 7 factors, colour 64×64."""

    title = "MPI3D-realistic"

    variant = "realistic"


@datasets.register("mpi3d_real")
class MPI3DReal(MPI3D):
    """MPI3D real: camera images of the real robot; 7 factors, colour 64×64."""

    title = "MPI3D-real"

    variant = "real"
