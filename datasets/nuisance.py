"""Observations of a binary dSprites dataset (the rendered ``shapes2d`` or the official
``dsprites``) with a nuisance drawn afresh each time, as disentanglement_lib's Color-, Noisy- and
Scream-dSprites make them.

The factors, their sizes, the split and the stored images are the base dataset's (its cached
bit-packed array, never a second copy); the nuisance is applied on the fly by one function,
:meth:`Nuisance.nuisance`, written once for numpy and torch alike, so metrics and the trainer
see the same kind of observation: :meth:`observations` draws from the metric's numpy ``rng``,
:meth:`observe` from the model's torch generator on the device, and the same seed gives the
same observations.  Binary-cross-entropy likelihood, as disentanglement_lib trains them.
"""

from __future__ import annotations

import abc

import numpy as np
import torch

from benchbench.datasets.shapes2d import SIZE


class Nuisance:
    """Put before a binary dSprites dataset class: its observations become
    ``nuisance(sprites, uniform)`` (``class ColorDSprites(ColorNuisance, Shapes2D)``)."""

    image_shape = (3, SIZE, SIZE)
    stochastic = True

    @abc.abstractmethod
    def nuisance(self, sprites, uniform):
        """The observations of binary ``sprites (n, 1, H, W)``; ``uniform(shape)`` draws U[0, 1)."""

    def images_at(self, indices: np.ndarray) -> np.ndarray:
        raise TypeError(
            f"{self.name or type(self).__name__} draws its nuisance per observation: use observations(indices, rng)"
        )

    def observations(self, indices: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sprites = super().images_at(indices)  # the base dataset's binary images
        return self.nuisance(sprites, lambda shape: rng.random(shape, dtype=np.float32))

    def observe(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return self.nuisance(images, lambda shape: torch.rand(shape, generator=generator, device=images.device))
