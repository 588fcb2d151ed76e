import hashlib
from pathlib import Path

import numpy as np
import torch

from benchbench.plugin.data import PackedBinaryImages

# sha256 of the bit-packed array of all 737,280 images; any change to the renderer changes it.
EXPECTED_SHA256 = "bafe754c2885183b8aed1dfc59f113b4b8ee68832bbd08e7b93c3109f83defb7"


def test_factor_layout_matches_dsprites(shapes):
    assert shapes.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert shapes.factor_sizes == (3, 6, 40, 32, 32)
    assert len(shapes) == 737_280
    assert shapes.factor_bases.tolist() == [245760, 40960, 1024, 32, 1]
    assert shapes.factors_to_index([[1, 2, 3, 4, 5]]).tolist() == [245760 + 2 * 40960 + 3 * 1024 + 4 * 32 + 5]
    idx = np.array([0, 1, 31, 32, 737_279, 123_456])
    assert np.array_equal(shapes.factors_to_index(shapes.index_to_factors(idx)), idx)
    assert shapes.index_to_factors(np.array([737_279])).tolist() == [[2, 5, 39, 31, 31]]
    grid = shapes.index_to_factors(idx.reshape(2, 3))  # any shape of indices: the factors last
    assert grid.shape == (2, 3, 5) and np.array_equal(grid.reshape(6, 5), shapes.index_to_factors(idx))


def test_images_are_deterministic_bytes(shapes):
    assert hashlib.sha256(np.asarray(shapes.pixels).tobytes()).hexdigest() == EXPECTED_SHA256


def test_geometry(shapes):
    # scale 1 square at orientation 0: 19×19 pixels, centred on pixel (16 + 32·posY/31, 16 + 32·posX/31)
    img = shapes.images(np.array([[0, 5, 0, 0, 0], [0, 5, 0, 31, 0], [0, 5, 0, 0, 31]]))
    assert img.shape == (3, 1, 64, 64) and img.dtype == np.float32
    assert set(np.unique(img)) == {0.0, 1.0}
    assert img[0].sum() == 19 * 19
    rows, cols = np.nonzero(img[0, 0])
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (7, 25, 7, 25)
    _, cols_x = np.nonzero(img[1, 0])  # posX moves columns
    assert (cols_x.min(), cols_x.max()) == (39, 57)
    rows_y, _ = np.nonzero(img[2, 0])  # posY moves rows
    assert (rows_y.min(), rows_y.max()) == (39, 57)
    # scale grows area, rotation keeps the centre, shapes differ
    small = shapes.images(np.array([[0, 0, 0, 16, 16]]))[0, 0].sum()
    assert 80 <= small <= 100  # a 9.5-pixel square
    heart = shapes.images(np.array([[2, 5, 0, 16, 16], [2, 5, 10, 16, 16]]))
    centre = lambda im: np.argwhere(im[0]).mean(axis=0)  # noqa: E731
    assert np.abs(centre(heart[0]) - centre(heart[1])).max() < 0.5  # rotation is about the centroid
    assert not np.array_equal(heart[0], heart[1])


def test_sample_factors_and_split(shapes):
    f = shapes.sample_factors(10_000, np.random.default_rng(0))
    assert f.shape == (10_000, 5) and f.min() == 0
    assert (f.max(axis=0) == np.array(shapes.factor_sizes) - 1).all()
    for n in (1, 63, 64, 130, 10_000):  # multiplied 64 combinations a row, then the rest one by one
        u = np.random.default_rng(n).random((n, 5))  # floor(u · size), one value at a time
        expected = np.array([[int(u[i, k] * shapes.factor_sizes[k]) for k in range(5)] for i in range(n)])
        assert np.array_equal(shapes.sample_factors(n, np.random.default_rng(n)), expected)
    train, test = shapes.train_indices, shapes.test_indices
    assert train.size == 663_552 and test.size == 73_728
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(shapes.test_indices, type(shapes)().test_indices)  # fixed split


def test_cache_is_reused(shapes):
    path = Path(shapes.pixels.filename)
    mtime = path.stat().st_mtime_ns
    again = type(shapes)()
    assert again.pixels.filename == shapes.pixels.filename and path.stat().st_mtime_ns == mtime
    assert isinstance(again.pixels, np.memmap)


def test_image_store_matches_images_at(shapes):
    idx = np.array([5, 70_000, 500_000])
    store = PackedBinaryImages(np.asarray(shapes.pixels[:600_000]), torch.device("cpu"))
    assert np.array_equal(store.batch(torch.as_tensor(idx)).numpy(), shapes.images_at(idx))


def test_image_store_is_shared_per_device(shapes):
    assert shapes.image_store("cpu") is shapes.image_store(torch.device("cpu"))
