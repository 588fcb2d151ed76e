"""``scream_dsprites``: Scream-dSprites, the seventh dataset of disentanglement_lib's study (its
``ScreamDSprites``) — the official dSprites sprites carved out of a random 64×64 patch of Edvard
Munch's painting "The Scream", drawn afresh for every observation.

The painting is read from ``<data root>/scream/scream.jpg`` (disentanglement_lib's
``dlib_download_data`` fetches it from Wikimedia Commons) and shrunk to fit 350 × 274 keeping
its aspect (PIL's ``thumbnail``), in [0, 1].  Each observation draws a patch corner uniformly
among the positions ``0 … side − 65`` (numpy's ``randint(0, side − 64)``, as the study) and a
colour ``c ~ U[0, 1)³``; the background is ``(patch + c) / 2`` and the sprite's pixels are its
inverse ``1 − background``.  The painting is a nuisance, not a factor (see ``nuisance.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from benchbench.api import DatasetError, data_dir, datasets, require_files
from benchbench.datasets.dsprites import DSprites
from benchbench.datasets.nuisance import Nuisance
from benchbench.datasets.shapes2d import SIZE

SOURCE = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"
THUMBNAIL = (350, 274)  # width, height: disentanglement_lib's scream.thumbnail((350, 274, 3))


@datasets.register("scream_dsprites")
class ScreamDSprites(Nuisance, DSprites):
    """The official dSprites file, each sprite carved out of a random patch of "The Scream"."""

    title = "Scream-dSprites"

    def __init__(self):
        super().__init__()
        path = data_dir() / "scream" / "scream.jpg"
        require_files("scream_dsprites", [path], SOURCE)
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail(THUMBNAIL)
            self.scream = np.asarray(image, dtype=np.float32) / 255.0  # (height, width, 3)
        if min(self.scream.shape[:2]) <= SIZE:
            raise DatasetError(f"dataset scream_dsprites: {path} is smaller than {SIZE + 1} pixels once shrunk")

    def _painting(self, like):
        """The painting, an integer cast, ``arange`` and the channels-first move of ``like``'s kind."""
        if isinstance(like, torch.Tensor):
            paintings = self.__dict__.setdefault("_paintings", {})
            key = str(like.device)
            if key not in paintings:
                paintings[key] = torch.as_tensor(self.scream, device=like.device)
            arange = lambda n: torch.arange(n, device=like.device)  # noqa: E731
            return paintings[key], (lambda a: a.long()), arange, (lambda a: a.permute(0, 3, 1, 2))
        return self.scream, (lambda a: a.astype(np.int64)), np.arange, (lambda a: a.transpose(0, 3, 1, 2))

    def nuisance(self, sprites, uniform):
        painting, ints, arange, channels_first = self._painting(sprites)
        height, width = self.scream.shape[:2]
        draws = uniform((sprites.shape[0], 5))  # patch row, patch column, colour (3)
        rows = ints(draws[:, 0] * (height - SIZE))[:, None] + arange(SIZE)
        cols = ints(draws[:, 1] * (width - SIZE))[:, None] + arange(SIZE)
        patch = painting[rows[:, :, None], cols[:, None, :]]  # (n, 64, 64, 3)
        background = channels_first((patch + draws[:, None, None, 2:]) / 2)
        return background + sprites * (1 - 2 * background)  # the sprite's pixels inverted
