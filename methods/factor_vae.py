"""``factor_vae``: FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising", Eq. 2), as
disentanglement_lib's ``methods/unsupervised/vae.py`` and ``shared/architectures.py`` define it.

* VAE loss: ``reconstruction + KL + γ·TC`` with ``TC = mean_batch(D(z)₀ − D(z)₁)``, the
  discriminator's logit difference on the sampled codes ``z`` (density-ratio trick).
* Discriminator ``D``: an MLP ``latent → 1000 → … → 1000 → 2`` (six hidden layers, leaky ReLU of
  slope 0.2, disentanglement_lib's ``fc_discriminator``), trained to tell ``z`` (class 0) from
  ``z`` with each dimension permuted independently across the batch (class 1, ``shuffle_codes``):
  loss ``−½·mean log p(D(z))₀ − ½·mean log p(D(z̃))₁``, minimised over its own parameters
  only by Adam with lr 1e-4, β₁ 0.5, β₂ 0.9 (the study's discriminator optimizer).  The VAE's
  loss moves only the VAE, as disentanglement_lib's two ``var_list``s do.
* ``discriminator_probs = "clipped"`` (the default): ``p`` is the softmax clipped to
  [1e-6, 1 − 1e-6], as disentanglement_lib's ``make_discriminator`` clips it (no gradient where
  it clips), so a confident discriminator's loss stays ≤ −log 1e-6 ≈ 13.8.  ``"exact"``: the
  unclipped log-softmax, which grows without bound as the discriminator grows confident (what
  benchbench trained before this choice existed; a stored cell without it trains so).

disentanglement_lib's two optimizers each advance the global step, so its "300k steps" are 150k
updates of each: here a step is one update of both (the ``locatello2019`` grid trains its
FactorVAE cells 150,000 steps for that reason).
"""

from __future__ import annotations

import torch
from torch import nn

from benchbench.api import Auxiliary, Method, methods

HIDDEN, LAYERS = 1000, 6
CLIP = 1e-6  # disentanglement_lib's make_discriminator


def discriminator(latent_dim: int) -> nn.Module:
    """disentanglement_lib's ``fc_discriminator``: six hidden layers of 1000, leaky ReLU (0.2), two logits."""
    layers, width = [], latent_dim
    for _ in range(LAYERS):
        layers += [nn.Linear(width, HIDDEN), nn.LeakyReLU(0.2)]
        width = HIDDEN
    return nn.Sequential(*layers, nn.Linear(width, 2))


def shuffle_codes(z: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """``z`` with dimension ``l`` reordered across the batch by ``permutation[:, l]``."""
    return torch.gather(z, 0, permutation)


def log_probabilities(logits: torch.Tensor, form: str) -> torch.Tensor:
    """The discriminator's log class probabilities: ``clipped`` to [1e-6, 1 − 1e-6] first, as
    disentanglement_lib, or ``exact``."""
    if form == "clipped":
        return torch.softmax(logits, dim=1).clamp(CLIP, 1 - CLIP).log()
    return torch.log_softmax(logits, dim=1)


@methods.register("factor_vae")
class FactorVAE(Method):
    """FactorVAE: VAE + γ·TC, the total correlation estimated by a discriminator."""

    title = "FactorVAE"
    description = "FactorVAE: VAE + gamma * TC from a z-vs-permuted-z discriminator (Kim & Mnih 2018)"
    hyperparameters = {"gamma": 10.0, "discriminator_probs": "clipped"}
    choices = {"discriminator_probs": ("clipped", "exact")}
    bounds = {"gamma": (0.0, float("inf"))}
    legacy = {"discriminator_probs": "exact"}

    def auxiliaries(self, static, latent_dim):
        return {"discriminator": Auxiliary(discriminator, lr=1e-4, betas=(0.5, 0.9), eps=1e-8)}

    def draws(self, static, batch_size, latent_dim, generator):
        noise = torch.rand(batch_size, latent_dim, generator=generator, device=generator.device)
        return {"permutation": noise.argsort(dim=0)}  # an independent permutation per dimension

    def terms(self, static, hp, inputs, state):
        d = inputs.aux["discriminator"]
        logits = d(inputs.z)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        shuffled = d(shuffle_codes(inputs.z, inputs.draws["permutation"]))
        real, fake = (log_probabilities(x, static["discriminator_probs"]) for x in (logits, shuffled))
        discriminator_loss = -0.5 * real[:, 0].mean() - 0.5 * fake[:, 1].mean()
        return {"regularizer": inputs.kl + hp["gamma"] * tc, "tc": tc, "auxiliary": discriminator_loss}, state
