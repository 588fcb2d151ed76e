"""``color_dsprites``: Color-dSprites of disentanglement_lib's study (its ``ColorDSprites``) — the
sprites in a colour drawn afresh for every observation, each RGB channel uniform in [0.5, 1];
background black.  The colour is a nuisance, not a factor (see ``nuisance.py``).  On the rendered
``shapes2d`` (``color_dsprites``) or on the official dSprites file, as the study
(``color_dsprites_official``)."""

from benchbench.api import datasets
from benchbench.datasets.dsprites import DSprites
from benchbench.datasets.nuisance import Nuisance
from benchbench.datasets.shapes2d import Shapes2D


class ColorNuisance(Nuisance):
    def nuisance(self, sprites, uniform):
        return sprites * (0.5 + 0.5 * uniform((sprites.shape[0], 3, 1, 1)))


@datasets.register("color_dsprites")
class ColorDSprites(ColorNuisance, Shapes2D):
    """2D Shapes (rendered) in a random colour per observation (each channel uniform in [0.5, 1])."""

    title = "Color 2D Shapes"


@datasets.register("color_dsprites_official")
class ColorDSpritesOfficial(ColorNuisance, DSprites):
    """The official dSprites file in a random colour per observation, as the study's Color-dSprites."""

    title = "Color-dSprites"
