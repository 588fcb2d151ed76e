"""``noisy_dsprites``: Noisy-dSprites of disentanglement_lib's study (its ``NoisyDSprites``) —
``shapes2d``'s sprites in white on a background of uniform noise drawn afresh for every
observation, per pixel and RGB channel: ``min(sprite + U[0, 1), 1)``.  The noise is a nuisance,
not a factor (see ``nuisance.py``)."""

from benchbench.datasets.nuisance import Nuisance
from benchbench.datasets.shapes2d import SIZE
from benchbench.registry import datasets


@datasets.register("noisy_dsprites")
class NoisyDSprites(Nuisance):
    """2D Shapes in white on uniform noise, drawn afresh per observation."""

    def nuisance(self, sprites, uniform):
        return (sprites + uniform((sprites.shape[0], 3, SIZE, SIZE))).clip(max=1.0)
