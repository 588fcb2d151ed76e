"""Color- and Noisy-dSprites: shapes2d's factors with a nuisance drawn per observation from the
caller's stream, in the metrics and the trainer alike."""

import numpy as np
import pytest
import torch

from benchbench.core.arch import build_net
from benchbench.core.registry import datasets, methods, metrics
from benchbench.planning.cells import Cell
from benchbench.plugin.representation import ModelView, encode
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.trainer import PackTrainer, TrainSettings

INDICES = np.array([0, 1, 5000, 737_279])


@pytest.fixture(scope="module", params=["color_dsprites", "noisy_dsprites"])
def variant(request):
    return datasets.get(request.param)()


def test_same_factors_and_stored_images_as_shapes2d(variant, shapes):
    assert (variant.factor_names, variant.factor_sizes) == (shapes.factor_names, shapes.factor_sizes)
    assert variant.image_shape == (3, 64, 64) and variant.stochastic and not shapes.stochastic
    assert variant.pixels.filename == shapes.pixels.filename  # shapes2d's cache, memory-mapped: no copy
    np.testing.assert_array_equal(variant.test_indices, shapes.test_indices)
    with pytest.raises(TypeError, match="observations"):
        variant.images_at(INDICES)


def check_nuisance(name, observed: np.ndarray, sprites: np.ndarray) -> None:
    """``observed (n, 3, H, W)`` is ``sprites (n, 1, H, W)`` with this dataset's nuisance."""
    on = np.broadcast_to(sprites == 1, observed.shape)
    if name.startswith("color_dsprites"):  # the sprite in one colour per image, channels in [0.5, 1]; background black
        assert (observed[~on] == 0).all()
        colours = observed.max(axis=(2, 3))  # (n, 3)
        assert ((colours >= 0.5) & (colours <= 1)).all()
        np.testing.assert_array_equal(observed, sprites * colours[:, :, None, None])
        assert len({tuple(c) for c in colours}) == len(colours)  # a fresh colour per observation
    else:  # white sprite, background uniform noise per pixel and channel
        assert (observed[on] == 1).all()
        background = observed[~on]
        assert (background >= 0).all() and (background < 1).all() and 0.45 < background.mean() < 0.55


def test_observations_for_metrics(variant, shapes):
    a = variant.observations(INDICES, np.random.default_rng(7))
    b = variant.observations(INDICES, np.random.default_rng(7))
    c = variant.observations(INDICES, np.random.default_rng(8))
    assert a.shape == (4, 3, 64, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # the same stream gives the same observations
    assert not np.array_equal(a, c)
    check_nuisance(variant.name, a, shapes.images_at(INDICES))


def test_observe_for_the_trainer(variant, shapes):
    store = variant.image_store(torch.device("cpu"))
    images = store.batch(torch.as_tensor(INDICES))
    a = variant.observe(images, torch.Generator().manual_seed(3)).numpy()
    b = variant.observe(images, torch.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(a, b)
    check_nuisance(variant.name, a, shapes.images_at(INDICES))


def test_a_metric_sees_fresh_nuisance_and_caches_nothing(variant):
    torch.manual_seed(0)
    view = ModelView(build_net("conv", variant.image_shape, 4), torch.device("cpu"))
    with pytest.raises(ValueError, match="rng"):
        encode(variant, view, INDICES)
    twice = np.repeat(INDICES[:1], 2)
    codes = encode(variant, view, twice, np.random.default_rng(0))
    assert not np.array_equal(codes[0], codes[1])  # the same image, two observations
    mig = metrics.get("mig")
    first, second = (mig(variant, view, np.random.default_rng(1), num_train=300)["mig"] for _ in range(2))
    assert first == second and view.images_encoded == 0


def test_a_pack_draws_each_models_nuisance_from_its_own_stream(variant, tmp_path):
    hp = methods.get("beta_vae")().resolve({"beta": 4})
    cells = [Cell(variant.name, "beta_vae", hp, seed, "conv", 4, 6, 8, 1e-4) for seed in (0, 1)]

    def train(group, root):
        stores = [CellStore(root / c.id) for c in group]
        settings = TrainSettings(checkpoint_every=100, log_every=3, progress=False)
        trainer = PackTrainer(group, stores, variant, torch.device("cpu"), settings, PackStore(root / "pack"))
        return {c.id: sd for c, _, sd in trainer.train()}

    packed = train(cells, tmp_path / "pack")
    for c in cells:
        alone = train([c], tmp_path / c.id)
        assert max((packed[c.id][k] - alone[c.id][k]).abs().max().item() for k in alone[c.id]) < 1e-5
