"""``color_dsprites``: Color-dSprites of disentanglement_lib's study (its ``ColorDSprites``) —
``shapes2d``'s sprites in a colour drawn afresh for every observation, each RGB channel uniform
in [0.5, 1]; background black.  The colour is a nuisance, not a factor (see ``nuisance.py``)."""

from benchbench.datasets.nuisance import Nuisance
from benchbench.registry import datasets


@datasets.register("color_dsprites")
class ColorDSprites(Nuisance):
    """2D Shapes in a random colour per observation (each channel uniform in [0.5, 1])."""

    def nuisance(self, sprites, uniform):
        return sprites * (0.5 + 0.5 * uniform((sprites.shape[0], 3, 1, 1)))
