"""Training as disentanglement_lib's study trained: TensorFlow 1's Adam and initial weights, the
likelihood and the training images as settings, FactorVAE's clipped discriminator — each checked
against its documented formula written out here in float64, not against benchbench's own code."""

import math

import numpy as np
import pytest
import torch

from benchbench.core.arch import build_net, tensorflow_init
from benchbench.core.registry import methods
from benchbench.planning.cells import Cell
from benchbench.storage.store import CellStore, PackStore
from benchbench.training.trainer import PackTrainer, TrainSettings, adam_update, init_aux, init_net

ONE_STEP = TrainSettings(checkpoint_every=100, log_every=1, progress=False)


def _tf1_adam(theta, grads, lr, b1, b2, eps):
    """TensorFlow 1's ``AdamOptimizer`` as its documentation writes it, in float64:
    ``lr_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ)``, ``m = β₁m + (1 − β₁)g``, ``v = β₂v + (1 − β₂)g²``,
    ``θ = θ − lr_t·m/(√v + ε)``."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - lr_t * m / (np.sqrt(v) + eps)
    return theta


@pytest.mark.parametrize("scale", [1e-2, 1e-6])
def test_tensorflow_adam_is_tf1s_documented_update(scale):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(64,))
    grads = [rng.normal(size=(64,)) * scale for _ in range(10)]
    lr, betas, eps = 1e-4, (0.9, 0.999), 1e-8
    found = {}
    for form in (True, False):
        p = torch.tensor(theta0, dtype=torch.float64)
        m, v = torch.zeros_like(p), torch.zeros_like(p)
        for t, g in enumerate(grads, start=1):
            p.grad = torch.tensor(g)
            adam_update({"p": p}, {"p": m}, {"p": v}, t, lr, betas, eps, tensorflow=form)
        found[form] = p.numpy() - theta0
    expected = _tf1_adam(theta0, grads, lr, *betas, eps) - theta0
    np.testing.assert_allclose(found[True], expected, rtol=1e-10, atol=0)
    pytorch_gap = np.median(np.abs(found[False] - expected) / np.abs(expected))
    assert pytorch_gap > (0.1 if scale == 1e-6 else 1e-6)  # PyTorch's form is another update


def _glorot_limit(weight: torch.Tensor) -> float:
    """TensorFlow's fans for a kernel with this PyTorch weight's shape: a receptive field times
    input channels and output channels (conv, transposed conv and dense alike)."""
    field = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    return math.sqrt(6 / (field * (weight.shape[0] + weight.shape[1])))


@pytest.mark.parametrize("arch", ["conv", "mlp"])
def test_tensorflow_init_is_glorot_uniform_kernels_and_zero_biases(arch):
    torch.manual_seed(0)
    latent = 10
    net = build_net(arch, (1, 64, 64), latent)
    tensorflow_init(net)
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    head = net.encoder[-1]
    for layer in layers:
        assert torch.count_nonzero(layer.bias) == 0
        halves = layer.weight.chunk(2) if layer is head else [layer.weight]  # TF's means and log_var layers
        for w in halves:
            limit = _glorot_limit(w)
            assert w.abs().max() <= limit
            if w.numel() >= 1000:  # enough draws to see the uniform's edge and spread
                assert w.abs().max() > 0.95 * limit
                assert w.std().item() == pytest.approx(limit / math.sqrt(3), rel=0.05)
    mu_rows, _ = head.weight.chunk(2)
    assert _glorot_limit(mu_rows) == pytest.approx(math.sqrt(6 / (head.in_features + latent)))


def test_init_setting_changes_only_the_start_and_is_reproducible(cell):
    pytorch, tensorflow = cell(), cell(init="tensorflow")
    a, b = init_net(pytorch, (1, 64, 64)), init_net(tensorflow, (1, 64, 64))
    again = init_net(tensorflow, (1, 64, 64))
    assert all(torch.equal(b.state_dict()[k], again.state_dict()[k]) for k in b.state_dict())
    assert any(not torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert torch.count_nonzero(b.decoder[0].bias) == 0 and torch.count_nonzero(a.decoder[0].bias) > 0
    aux = methods.get("factor_vae")().auxiliaries({}, 4)["discriminator"]
    disc = init_aux(cell("factor_vae", init="tensorflow"), "discriminator", aux)
    assert all(torch.count_nonzero(m.bias) == 0 for m in disc.modules() if isinstance(m, torch.nn.Linear))


def _first_reconstruction(c: Cell, shapes, tmp_path) -> tuple[float, float]:
    """The reconstruction term the trainer logs after one step, and the same term computed by
    hand in float64 from the cell's initial network on the trainer's own first minibatch."""
    args = (shapes, torch.device("cpu"), ONE_STEP)
    peek = PackTrainer([c], [CellStore(tmp_path / "peek")], *args, PackStore(tmp_path / "peek-pack"))
    x, eps, _ = peek.next_batch()
    with torch.no_grad():
        _, _, _, logits = init_net(c, shapes.image_shape)(x[0], eps[0])
    x, logits = x[0].double(), logits.double()
    likelihood = shapes.likelihood if c.likelihood == "dataset" else c.likelihood
    if likelihood == "bernoulli":  # −log p(x) of a Bernoulli with p = sigmoid(logits), per pixel
        per_pixel = -(x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits)))
    else:
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    expected = per_pixel.flatten(1).sum(1).mean().item()
    store = CellStore(tmp_path / c.id)
    PackTrainer([c], [store], *args, PackStore(tmp_path / "pack")).advance(1)
    return store.read_log()[0]["reconstruction"], expected


@pytest.mark.parametrize("likelihood", ["dataset", "bernoulli", "gaussian"])
def test_the_likelihood_setting_is_the_reconstruction_loss_trained(cell, shapes, tmp_path, likelihood):
    logged, expected = _first_reconstruction(cell(likelihood=likelihood), shapes, tmp_path)
    assert logged == pytest.approx(expected, rel=1e-5)


def test_a_likelihood_named_as_the_datasets_own_trains_the_same_bits_under_another_id(cell, shapes, tmp_path):
    own, named = cell(), cell(likelihood=shapes.likelihood)
    assert own.id != named.id  # a setting stated is part of the config, whatever it resolves to
    a, b = (PackTrainer([c], [CellStore(tmp_path / c.id)], shapes, "cpu", ONE_STEP, PackStore(tmp_path / f"p{i}"))
            for i, c in enumerate((own, named)))  # fmt: skip
    a.advance(2)
    b.advance(2)
    assert all(torch.equal(a.params[k], b.params[k]) for k in a.params)


def test_train_images_all_draws_from_every_image_split_holds_the_test_images_out(cell, shapes, tmp_path):
    trainers = {
        images: PackTrainer(
            [cell(train_images=images)], [CellStore(tmp_path / images)], shapes, "cpu", ONE_STEP,
            PackStore(tmp_path / f"{images}-pack"),
        )
        for images in ("split", "all")
    }  # fmt: skip
    assert trainers["all"].train_idx.tolist() == list(range(len(shapes)))
    split = set(trainers["split"].train_idx.tolist())
    assert split == set(shapes.train_indices.tolist()) and not split & set(shapes.test_indices.tolist())


def _discriminator_loss(logits_real, logits_fake, form):
    """disentanglement_lib's discriminator loss (``vae.py``), with its probabilities clipped
    (``architectures.make_discriminator``) or not, in float64."""

    def log_p(logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        total = np.exp(shifted).sum(axis=1, keepdims=True)
        if form == "clipped":
            return np.log(np.clip(np.exp(shifted) / total, 1e-6, 1 - 1e-6))
        return shifted - np.log(total)

    return -0.5 * log_p(logits_real)[:, 0].mean() - 0.5 * log_p(logits_fake)[:, 1].mean()


@pytest.mark.parametrize("form", ["clipped", "exact"])
def test_factor_vae_discriminator_loss_as_disentanglement_lib_clips_it(form):
    from benchbench.methods.factor_vae import log_probabilities

    rng = np.random.default_rng(1)
    for scale in (1.0, 40.0):  # an unsure and a confident (wrong) discriminator
        real, fake = rng.normal(size=(64, 2)) * scale, rng.normal(size=(64, 2)) * scale
        t_real, t_fake = (torch.tensor(a, requires_grad=True) for a in (real, fake))
        loss = -0.5 * log_probabilities(t_real, form)[:, 0].mean() - 0.5 * log_probabilities(t_fake, form)[:, 1].mean()
        assert loss.item() == pytest.approx(_discriminator_loss(real, fake, form), rel=1e-9)
        if form == "clipped":
            assert loss.item() <= -math.log(1e-6) + 1e-9  # bounded, as the study's
            loss.backward()
            probs = torch.softmax(t_real, 1)[:, 0].detach()
            clipped = (probs < 1e-6) | (probs > 1 - 1e-6)
            if clipped.any():  # no gradient through a clipped probability (tf.clip_by_value's)
                assert torch.all(t_real.grad[clipped] == 0)
    assert _discriminator_loss(np.array([[0.0, 60.0]]), np.array([[60.0, 0.0]]), "exact") > 50  # unclipped grows


def test_a_factor_vae_cell_stored_before_the_choice_keeps_its_id_and_trains_unclipped(cell):
    method = methods.get("factor_vae")()
    new = cell("factor_vae", {"gamma": 10})
    assert new.hyperparameters == {"gamma": 10.0, "discriminator_probs": "clipped"}
    stored = Cell.from_config({**new.config(), "hyperparameters": {"gamma": 10.0}})  # as an older run wrote it
    assert stored.id != new.id
    # pinned: the id every FactorVAE cell of this config had before the choice existed
    assert stored.id == "4124a14dd50642ba"
    assert method.static_part(stored.hyperparameters) == {"discriminator_probs": "exact"}
    assert method.static_part(new.hyperparameters) == {"discriminator_probs": "clipped"}
    assert method.numeric_part(stored.hyperparameters) == {"gamma": 10.0}


STUDY = {"likelihood": "bernoulli", "init": "tensorflow", "adam": "tensorflow", "train_images": "all"}


def test_a_study_cell_interrupted_and_resumed_ends_bit_identical(cell, shapes, tmp_path, interrupt_at):
    """FactorVAE with every study setting (its discriminator on TF's Adam too), crashed after a
    checkpoint and resumed: the same weights, discriminator and curve as an uninterrupted run."""
    c = cell("factor_vae", {"gamma": 20}, steps=8, **STUDY)
    settings = TrainSettings(checkpoint_every=3, log_every=2, progress=False)

    def train(root):
        stores = [CellStore(root / c.id)]
        trainer = PackTrainer([c], stores, shapes, "cpu", settings, PackStore(root / "pack"))
        weights = trainer.train()[0][2]
        return weights, {k: v.detach().clone() for k, v in trainer.aux.items()}, stores[0].log_path.read_bytes()

    straight = train(tmp_path / "straight")
    interrupt_at(5)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "crash")
    interrupt_at(None)
    resumed = train(tmp_path / "crash")
    assert all(torch.equal(straight[0][k], resumed[0][k]) for k in straight[0])
    assert all(torch.equal(straight[1][k], resumed[1][k]) for k in straight[1]) and straight[2] == resumed[2]
