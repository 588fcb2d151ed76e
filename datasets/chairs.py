"""``chairs`` / ``chairs809``: Aubry et al.'s 3D Chairs renders as binary masks.

Reads ``<data root>/rendered_chairs/<model>/renders/image_<n>_p<elevation>_t<azimuth>_r096.png``.
Every model must have the full grid of renders (2 elevations × 31 azimuths in the release).
Factors: model (one value per model folder, sorted by name), elevation, azimuth (ranks of the
degrees in the file names).  A render becomes a mask the way Higgins et al. used the data:
pixels darker than 250 in every channel's minimum (the background is pure white) are chair;
the full frame is box-averaged to 64×64 and thresholded at one half.  Masks are cached
bit-packed.  The split follows the seed: the first 80% of the models train, the rest test.
``chairs809`` uses only the models named in ``rendered_chairs/chairs809.txt`` (one folder name
per line), the near-duplicate-free subset the seed mentions.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from benchbench.api import (
    CachedImages,
    DatasetError,
    GroundTruthDataset,
    cached_array,
    data_dir,
    datasets,
    decode_into,
    fingerprint,
    require_files,
)

SOURCE = "https://www.di.ens.fr/willow/research/seeing3Dchairs/ (rendered_chairs.tar)"
RENDER = re.compile(r"image_\d+_p(\d+)_t(\d+)_r\d+\.png$")
WHITE = 250


def load_mask(path) -> np.ndarray:
    """A render → 64×64 binary mask, bit-packed along the width."""
    with Image.open(path) as img:
        chair = np.asarray(img.convert("RGB")).min(axis=2) < WHITE
    coverage = np.asarray(Image.fromarray(chair.astype(np.float32)).resize((64, 64), Image.BOX))
    return np.packbits(coverage >= 0.5, axis=-1)


@datasets.register("chairs")
class Chairs(CachedImages, GroundTruthDataset):
    """3D Chairs: binary 64×64 masks of chair renders; factors model, elevation, azimuth."""

    title = "3D Chairs"

    factor_names = ("model", "elevation", "azimuth")
    categorical_factors = ("model",)
    image_shape = (1, 64, 64)
    likelihood = "bernoulli"
    packed_bits = True
    model_list: str | None = None

    def __init__(self):
        root = data_dir() / "rendered_chairs"
        needed = [root] + ([root / self.model_list] if self.model_list else [])
        require_files(self.name, needed, SOURCE)
        if self.model_list:
            models = [m.strip() for m in (root / self.model_list).read_text().splitlines() if m.strip()]
        else:
            models = sorted(p.name for p in root.iterdir() if (p / "renders").is_dir())
        if not models:
            raise DatasetError(f"dataset {self.name}: no <model>/renders folders in {root}")
        renders = {m: self._renders(root / m / "renders") for m in models}
        elevations = sorted({e for r in renders.values() for e, _ in r})
        azimuths = sorted({a for r in renders.values() for _, a in r})
        grid = {(e, a) for e in elevations for a in azimuths}
        for model, found in renders.items():
            if set(found) != grid:
                raise DatasetError(
                    f"dataset {self.name}: {root / model / 'renders'} has {len(found)} renders, "
                    f"expected {len(elevations)} elevations × {len(azimuths)} azimuths"
                )
        self.factor_sizes = (len(models), len(elevations), len(azimuths))
        self.models = models
        paths = [renders[m][(e, a)] for m in models for e in elevations for a in azimuths]

        def fill(out):
            decode_into(out, paths, load_mask, f"dataset {self.name}")

        key = f"masks_{fingerprint([root / m / 'renders' for m in models])}"
        self.pixels = cached_array(self.name, key, (len(paths), 64, 8), fill)

    def _renders(self, folder) -> dict[tuple[int, int], object]:
        if not folder.is_dir():
            raise DatasetError(f"dataset {self.name}: missing {folder}")
        found = {}
        for path in folder.iterdir():
            match = RENDER.match(path.name)
            if match:
                found[int(match.group(1)), int(match.group(2))] = path
        return found

    @property
    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """The first 80% of the models train, the rest test (the seed's split)."""
        per_model = len(self) // self.factor_sizes[0]
        cut = int(0.8 * self.factor_sizes[0]) * per_model
        return np.arange(cut), np.arange(cut, len(self))


@datasets.register("chairs809")
class Chairs809(Chairs):
    """3D Chairs restricted to the models listed in rendered_chairs/chairs809.txt."""

    model_list = "chairs809.txt"
