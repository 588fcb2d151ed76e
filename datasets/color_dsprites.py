"""``color_dsprites``: Color-dSprites of disentanglement_lib's study — ``shapes2d``'s sprites in a
colour drawn afresh for every observation, each RGB channel uniform in [0.5, 1]
(disentanglement_lib's ``ColorDSprites``).

The colour is a nuisance, not a factor: the factors, their sizes and the ground-truth protocol
are ``shapes2d``'s, and so are the stored images (its cached bit-packed array, never a coloured
copy).  The colour is applied on the fly: :meth:`observations` draws it from the metric's numpy
``rng``, :meth:`observe` from the model's torch generator on the device, so the same seed gives
the same observations.  Binary-cross-entropy likelihood, as disentanglement_lib trains it.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbench.datasets.shapes2d import SIZE, Shapes2D
from benchbench.registry import datasets


@datasets.register("color_dsprites")
class ColorDSprites(Shapes2D):
    """2D Shapes in a random colour per observation (each channel uniform in [0.5, 1])."""

    image_shape = (3, SIZE, SIZE)
    stochastic = True

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raise TypeError(
            f"{self.name or type(self).__name__} draws its nuisance per observation: use observations(indices, rng)"
        )

    def observations(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = Shapes2D.images_at(self, indices)  # (n, 1, H, W) in {0, 1}
        colour = rng.uniform(0.5, 1.0, (sprites.shape[0], 3, 1, 1)).astype(np.float32)
        return sprites * colour

    def observe(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        colour = torch.rand(images.shape[0], 3, 1, 1, generator=generator, device=images.device) * 0.5 + 0.5
        return images * colour
