"""``noisy_dsprites``: Noisy-dSprites of disentanglement_lib's study (its ``NoisyDSprites``) — the
sprites in white on a background of uniform noise drawn afresh for every observation, per pixel
and RGB channel: ``min(sprite + U[0, 1), 1)``.  The noise is a nuisance, not a factor (see
``nuisance.py``).  On the rendered ``shapes2d`` (``noisy_dsprites``) or on the official dSprites
file, as the study (``noisy_dsprites_official``)."""

from benchbench.api import datasets
from benchbench.datasets.dsprites import DSprites
from benchbench.datasets.nuisance import Nuisance
from benchbench.datasets.shapes2d import SIZE, Shapes2D


class NoiseNuisance(Nuisance):
    def nuisance(self, sprites, uniform):
        return (sprites + uniform((sprites.shape[0], 3, SIZE, SIZE))).clip(max=1.0)


@datasets.register("noisy_dsprites")
class NoisyDSprites(NoiseNuisance, Shapes2D):
    """2D Shapes (rendered) in white on uniform noise, drawn afresh per observation."""

    title = "Noisy 2D Shapes"


@datasets.register("noisy_dsprites_official")
class NoisyDSpritesOfficial(NoiseNuisance, DSprites):
    """The official dSprites file in white on uniform noise, as the study's Noisy-dSprites."""

    title = "Noisy-dSprites"
