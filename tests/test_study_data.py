"""The study's data: Color- and Noisy-dSprites on the official dSprites file, Scream-dSprites,
the run that stops on a missing file with its name and --download, and the report that names the
rendered stand-in."""

import numpy as np
import pytest
import torch
from PIL import Image
from test_datasets_gt import write_dsprites
from test_dsprites_variants import check_nuisance

from benchbench.cli import cli
from benchbench.core.registry import datasets
from benchbench.plugin.data import DatasetError

INDICES = np.array([0, 7, 30, 47])


@pytest.fixture
def root(tmp_path, monkeypatch, shapes):
    """A data root holding a small official-format dSprites file (48 images)."""
    monkeypatch.setenv("BENCHBENCH_DATA", str(tmp_path))
    write_dsprites(tmp_path, shapes)
    return tmp_path


@pytest.mark.parametrize("name", ["color_dsprites_official", "noisy_dsprites_official"])
def test_color_and_noisy_dsprites_on_the_official_file(root, name):
    official, variant = datasets.get("dsprites")(), datasets.get(name)()
    assert (variant.factor_sizes, variant.image_shape) == (official.factor_sizes, (3, 64, 64))
    assert variant.pixels.filename == official.pixels.filename  # the official cache, no copy
    observed = variant.observations(INDICES, np.random.default_rng(5))
    np.testing.assert_array_equal(observed, variant.observations(INDICES, np.random.default_rng(5)))
    check_nuisance(name, observed, official.images_at(INDICES))
    images = variant.image_store(torch.device("cpu")).batch(torch.as_tensor(INDICES))
    check_nuisance(name, variant.observe(images, torch.Generator().manual_seed(2)).numpy(), official.images_at(INDICES))


def _write_scream(root, size=(400, 300)) -> np.ndarray:
    """A stand-in painting with every pixel distinct, stored losslessly (PNG bytes named as the
    study's file: PIL reads the format from the content); returned as it will be once shrunk."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    (root / "scream").mkdir()
    Image.fromarray(pixels).save(root / "scream" / "scream.jpg", format="PNG")
    shrunk = Image.fromarray(pixels)
    shrunk.thumbnail((350, 274))  # the study's size, aspect kept
    return np.asarray(shrunk, dtype=np.float64) / 255.0


def _scream_by_hand(painting, sprites, u) -> np.ndarray:
    """disentanglement_lib's ScreamDSprites per observation, in float64: a patch at a corner
    uniform over ``0 … side − 65``, averaged with a colour, inverted under the sprite."""
    out = np.empty((len(sprites), 3, 64, 64))
    height, width = painting.shape[:2]
    for i, sprite in enumerate(sprites[:, 0]):
        r, c = int(u[i, 0] * (height - 64)), int(u[i, 1] * (width - 64))
        background = (painting[r : r + 64, c : c + 64] + u[i, 2:5]) / 2
        observed = np.where(sprite[:, :, None] == 1, 1 - background, background)
        out[i] = observed.transpose(2, 0, 1)
    return out


def test_scream_dsprites_carves_each_sprite_out_of_a_random_patch(root):
    with pytest.raises(DatasetError, match=r"dataset scream_dsprites: missing .*scream/scream.jpg; get the files from"):
        datasets.get("scream_dsprites")()
    painting = _write_scream(root)
    scream, official = datasets.get("scream_dsprites")(), datasets.get("dsprites")()
    assert painting.shape == (263, 350, 3)  # 300 · 350/400 = 262.5: Pillow rounds today, the study's truncated
    assert scream.factor_sizes == official.factor_sizes
    sprites = official.images_at(INDICES)
    observed = scream.observations(INDICES, np.random.default_rng(9))
    u = np.random.default_rng(9).random((len(INDICES), 5), dtype=np.float32)  # the draws it made
    np.testing.assert_allclose(observed, _scream_by_hand(painting, sprites, u.astype(np.float64)), atol=1e-6)
    assert observed.dtype == np.float32 and observed.min() >= 0 and observed.max() <= 1
    generator = torch.Generator().manual_seed(4)
    images = scream.image_store(torch.device("cpu")).batch(torch.as_tensor(INDICES))
    seen = scream.observe(images, generator).numpy()
    u = torch.rand((len(INDICES), 5), generator=torch.Generator().manual_seed(4)).double().numpy()
    np.testing.assert_allclose(seen, _scream_by_hand(painting, sprites, u), atol=1e-6)
    many = scream.observations(np.zeros(200, dtype=np.int64), np.random.default_rng(1))
    assert len({m.tobytes() for m in many}) == 200  # a fresh patch and colour every time


def test_the_study_grid_stops_on_a_missing_dsprites_file_naming_it_and_download(tmp_path, monkeypatch, cli_runner):
    monkeypatch.setenv("BENCHBENCH_DATA", str(tmp_path / "empty"))
    out = cli_runner.invoke(
        cli, ["run", "--grid", "locatello2019", "--datasets", "dsprites", "--device", "cpu", "--results", str(tmp_path)]
    )
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz" in out.output
    assert "--download fetches the files of dsprites" in out.output
    assert not (tmp_path / "locatello2019").exists()


def test_smallnorb4_has_the_studys_four_factors_and_draws_the_instance(tmp_path, monkeypatch):
    from test_datasets_gt import write_smallnorb

    monkeypatch.setenv("BENCHBENCH_DATA", str(tmp_path))
    write_smallnorb(tmp_path)  # 2 categories × 2 instances × 1 elevation × 2 azimuths × 1 lighting
    five, four = datasets.get("smallnorb")(), datasets.get("smallnorb4")()
    assert four.factor_names == ("category", "elevation", "azimuth", "lighting") and four.factor_sizes == (2, 1, 2, 1)
    assert len(four) == 4 and four.stochastic and four.pixels.filename == five.pixels.filename
    indices = np.array([0, 1, 2, 3, 3, 3, 3, 3])
    factors = four.index_to_factors(indices)
    instance = (np.random.default_rng(3).random(len(indices)) * 2).astype(np.int64)  # the draws it makes
    full = np.c_[factors[:, :1], instance, factors[:, 1:]]
    np.testing.assert_array_equal(four.observations(indices, np.random.default_rng(3)), five.images(full))
    seen = {four.observations(np.array([3]), np.random.default_rng(s)).tobytes() for s in range(20)}
    assert len(seen) == 2  # both instances of that combination, one per draw
    with pytest.raises(TypeError, match="observations"):
        four.images_at(indices)
    rows = four.rows(torch.as_tensor(indices), torch.Generator().manual_seed(6))
    drawn = (torch.rand(len(indices), generator=torch.Generator().manual_seed(6)) * 2).long().numpy()
    assert rows.tolist() == five.factors_to_index(np.c_[factors[:, :1], drawn, factors[:, 1:]]).tolist()
