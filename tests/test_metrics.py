import numpy as np
import pytest
import torch

from benchbench.core.arch import build_net
from benchbench.core.registry import metrics
from benchbench.plugin.representation import ModelView, Representation


class Constant(Representation):
    """A 'model' that reconstructs every pixel as p."""

    def __init__(self, p):
        self.p = p

    def reconstruct(self, images):
        return np.full(np.shape(images), self.p, dtype=np.float32)


class Identity(Representation):
    def reconstruct(self, images):
        return np.asarray(images)


def test_reconstruction_error_known_answers(shapes):
    fn = metrics.get("reconstruction_error")
    rng = np.random.default_rng(0)
    half = fn(shapes, Constant(0.5), rng, num_images=300)
    assert half["mse"] == pytest.approx(0.25) and half["bce"] == pytest.approx(np.log(2))
    assert half["num_images"] == 300
    zero = fn(shapes, Constant(0.0), np.random.default_rng(1), num_images=500)
    idx = np.sort(np.random.default_rng(1).choice(shapes.test_indices, 500, replace=False))
    assert zero["mse"] == pytest.approx(shapes.images_at(idx).mean())  # x² = x for binary x
    perfect = fn(shapes, Identity(), rng, num_images=100)
    assert perfect["mse"] == 0.0 and perfect["bce"] < 1e-6


def test_model_view_batches_match_whole(shapes):
    net = build_net("conv", (1, 64, 64), 5)
    images = shapes.images_at(np.arange(0, 737_280, 24_000))
    whole = ModelView(net, torch.device("cpu"), batch_size=1000)
    small = ModelView(net, torch.device("cpu"), batch_size=7)
    np.testing.assert_allclose(whole.encode(images), small.encode(images), atol=1e-5)
    assert whole.encode(images).shape == (len(images), 5)
    rec = whole.reconstruct(images)
    assert rec.shape == images.shape and 0 <= rec.min() and rec.max() <= 1


def test_evaluator_records_metrics_that_do_not_apply(cell, shapes, tmp_path):
    from benchbench.evaluation.evaluate import evaluate_cell
    from benchbench.plugin.metric import EvalSpec
    from benchbench.storage.store import RunStore

    store = RunStore(tmp_path / "run").add_cell(cell("vae"))
    store.save_model(build_net("conv", (1, 64, 64), 4).state_dict())
    specs = [EvalSpec.of("attribute_accuracy"), EvalSpec.of("reconstruction_error", {"num_images": 32})]
    evaluate_cell(store, shapes, torch.device("cpu"), specs)
    skipped, recon = (store.evaluation(s.metric, s.key) for s in specs)
    assert skipped.status == "not_applicable" and "binary" in skipped.error
    assert recon.status == "done" and recon.values["num_images"] == 32 and recon.seconds > 0


def test_reconstruction_by_index_is_the_reconstruction_of_the_images(shapes):
    """The cache's codes decoded are, bit for bit, the images encoded and decoded in one go: an
    image's code does not depend on the batch it was encoded in (on the mean and sampled codes)."""
    net = build_net("conv", (1, 64, 64), 5)
    indices = np.asarray(shapes.test_indices)[:700]
    view = ModelView(net, torch.device("cpu"), batch_size=256)
    view.encode_indices(shapes, np.random.default_rng(0).choice(len(shapes), 900))  # cached in other batches
    images = shapes.images_at(indices)
    np.testing.assert_array_equal(view.reconstruct_indices(shapes, indices), view.reconstruct(images))
    by_index = view.sampled(np.random.default_rng(3)).reconstruct_indices(shapes, indices)
    np.testing.assert_array_equal(by_index, view.sampled(np.random.default_rng(3)).reconstruct(images))
