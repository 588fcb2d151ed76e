"""``noisy_dsprites``: Noisy-dSprites of disentanglement_lib's study — ``shapes2d``'s sprites in
white on a background of uniform noise drawn afresh for every observation, each pixel and RGB
channel uniform in [0, 1] (disentanglement_lib's ``NoisyDSprites``: ``min(sprite + noise, 1)``).

The noise is a nuisance, not a factor: the factors, their sizes and the ground-truth protocol
are ``shapes2d``'s, and so are the stored images (its cached bit-packed array, never a noisy
copy).  The noise is applied on the fly: :meth:`observations` draws it from the metric's numpy
``rng``, :meth:`observe` from the model's torch generator on the device, so the same seed gives
the same observations.  Binary-cross-entropy likelihood, as disentanglement_lib trains it.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbench.datasets.shapes2d import SIZE, Shapes2D
from benchbench.registry import datasets


@datasets.register("noisy_dsprites")
class NoisyDSprites(Shapes2D):
    """2D Shapes in white on uniform noise, drawn afresh per observation."""

    image_shape = (3, SIZE, SIZE)
    stochastic = True

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raise TypeError(
            f"{self.name or type(self).__name__} draws its nuisance per observation: use observations(indices, rng)"
        )

    def observations(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = Shapes2D.images_at(self, indices)  # (n, 1, H, W) in {0, 1}
        noise = rng.uniform(0.0, 1.0, (sprites.shape[0], 3, SIZE, SIZE)).astype(np.float32)
        return np.minimum(sprites + noise, 1.0)

    def observe(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.rand(images.shape[0], 3, SIZE, SIZE, generator=generator, device=images.device)
        return torch.clamp(images + noise, max=1.0)
