"""``shapes2d``: 2D Shapes (dSprites) rendered procedurally, so no download is needed.

3 shapes (square, ellipse, heart) × 6 scales linspace(0.5, 1) × 40 orientations
linspace(0, 2π) × 32 posX × 32 posY linspace(0, 1) = 737,280 binary 64×64 images in
dSprites' index order (posY fastest).  Geometry follows dSprites: a scale-1 square is 19 px
on a side, sprite centres span pixels 16–48, shapes rotate about their centre.  posX moves
the sprite right along image columns and posY moves it down along image rows.

The 720 (shape, scale, orientation) sprites are rendered once with 4×4 supersampling (a
pixel is on when at least half its area is covered) and then placed at integer pixel
positions, so the set builds in seconds.  It is cached bit-packed (377 MB) under
``<data root>/shapes2d/cache`` and memory-mapped afterwards.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchbench.api import CachedImages, GroundTruthDataset, cached_array, datasets

SIZE = 64
PATCH = 32  # sprite patch side; the largest sprite (a rotated scale-1 square) is < 27 px across
SUPERSAMPLE = 4
SQUARE_SIDE = 19.0  # pixels at scale 1
CACHE_VERSION = 2


def _inside(shape: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Membership in the unit shape; ``x`` right, ``y`` up, half-size 1 (square spans [-1, 1])."""
    if shape == 0:  # square
        return (np.abs(x) <= 1) & (np.abs(y) <= 1)
    if shape == 1:  # ellipse, 2:1
        return x**2 + (y / 0.5) ** 2 <= 1
    # heart: (x² + y² − 1)³ ≤ x² y³, which spans ±1.14 across and has its centroid at y = 0.29;
    # scaled to the square's width and centred on its centroid, so rotation keeps its position
    x, y = x * 1.14, y * 1.14 + 0.29
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


def render_sprites() -> np.ndarray:
    """The 720 sprites as a bool array ``(3, 6, 40, PATCH, PATCH)``, centred on pixel ``PATCH / 2``."""
    scales = np.linspace(0.5, 1.0, 6)
    angles = np.linspace(0.0, 2 * np.pi, 40)
    sub = (np.arange(PATCH * SUPERSAMPLE) + 0.5) / SUPERSAMPLE - (PATCH / 2 + 0.5)
    col, row = np.meshgrid(sub, sub)  # pixel offsets from the sprite centre
    x, y = col, -row  # y up
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    # rotate the sampling grid by -θ so the shape turns by +θ
    xr, yr = cos * x + sin * y, -sin * x + cos * y  # (40, S, S)
    out = np.empty((3, 6, 40, PATCH, PATCH), dtype=bool)
    for shape in range(3):
        for si, scale in enumerate(scales):
            half = SQUARE_SIDE / 2 * scale
            hit = _inside(shape, xr / half, yr / half).astype(np.float32)
            cover = hit.reshape(40, PATCH, SUPERSAMPLE, PATCH, SUPERSAMPLE).mean(axis=(2, 4))
            out[shape, si] = cover >= 0.5
    return out


def render_packed(packed: np.ndarray) -> None:
    """Write all 737,280 images, bit-packed along the width, into uint8 ``(737280, 64, 8)``."""
    sprites = render_sprites().reshape(720, PATCH, PATCH)
    centres = np.rint(16 + 32 * np.linspace(0.0, 1.0, 32)).astype(np.int64)  # 16 … 48
    offsets = centres - PATCH // 2  # top-left corner of the patch, 0 … 32
    # The sprite sits at [PATCH, 2·PATCH) of a larger canvas; the window starting at PATCH − off
    # shows it with its top-left corner at pixel off.
    canvas = np.zeros((SIZE + PATCH, SIZE + PATCH), dtype=bool)
    window_start = PATCH - offsets
    for i, sprite in enumerate(sprites):
        canvas[PATCH:, PATCH:][:PATCH, :PATCH] = sprite
        windows = sliding_window_view(canvas, (SIZE, SIZE))
        # rows follow posY, columns posX; result (posX, posY, 64, 64) with posY fastest
        block = windows[window_start[None, :], window_start[:, None]]
        packed[i * 1024 : (i + 1) * 1024] = np.packbits(block.reshape(1024, SIZE, SIZE), axis=-1)


@datasets.register("shapes2d")
class Shapes2D(CachedImages, GroundTruthDataset):
    """2D Shapes (dSprites geometry), rendered procedurally; 737,280 binary 64×64 images."""

    title = "2D Shapes"

    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    categorical_factors = ("shape",)
    factor_sizes = (3, 6, 40, 32, 32)
    image_shape = (1, SIZE, SIZE)
    likelihood = "bernoulli"
    packed_bits = True
    stand_in = "the official dSprites file (dsprites): rendered here, same factors and sizes, not the same pixels"

    def __init__(self):
        shape = (len(self), SIZE, SIZE // 8)
        self.pixels = cached_array("shapes2d", f"images_packed_v{CACHE_VERSION}", shape, render_packed)
