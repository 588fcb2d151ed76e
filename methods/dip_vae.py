"""``dip_vae``: DIP-VAE (Kumar et al.), which pulls the inferred prior's covariance to the identity.

Regulariser: ``λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)²`` added to the VAE loss, where

* variant ``i``:  ``C = Cov_{p(x)}[μ(x)]``                       (seed Eq. 6)
* variant ``ii``: ``C = Cov_{p(x)}[μ(x)] + E_{p(x)}[diag σ²(x)]``  (law of total covariance, Eq. 5;
  the encoder covariance is diagonal, so σ² enters the diagonal only)

``Cov`` is the covariance over the minibatch axis, centred on the batch mean and divided by N.
``λ_d`` defaults to ``10·λ_od`` for variant i and ``λ_od`` for ii (the paper's settings).

Estimators of ``C`` (``cov_estimate``):

* ``batch`` — the current minibatch alone (disentanglement_lib).
* ``running`` — the seed's text under Eq. 6: a running estimate updated every minibatch,
  ``C_t = m·C_{t−1} + (1 − m)·Ĉ_batch`` (``m`` = ``momentum``; ``C_1 = Ĉ_batch``), where the
  gradient flows through the current minibatch's part only and ``C_{t−1}`` is held constant.
"""

from __future__ import annotations

import torch

from benchbench.api import Method, methods


def batch_covariance(mu: torch.Tensor) -> torch.Tensor:
    """Covariance of the rows of ``mu`` ``(N, d)``: centred over the batch, divided by N."""
    centred = mu - mu.mean(dim=0, keepdim=True)
    return centred.T @ centred / mu.shape[0]


def dip_penalty(cov: torch.Tensor, lambda_od: torch.Tensor, lambda_d: torch.Tensor):
    """``(λ_od Σ_{i≠j} C_ij², λ_d Σ_i (C_ii − 1)²)``."""
    diag = torch.diagonal(cov)
    off = cov - torch.diag_embed(diag)
    return lambda_od * (off**2).sum(), lambda_d * ((diag - 1) ** 2).sum()


@methods.register("dip_vae")
class DIPVAE(Method):
    """DIP-VAE-I / DIP-VAE-II: VAE + covariance-matching regulariser on the inferred prior."""

    title = "DIP-VAE"
    description = "DIP-VAE: VAE + lambda_od*offdiag(C)^2 + lambda_d*(diag(C)-1)^2 (seed Eq. 6)"
    hyperparameters = {
        "variant": "i",
        "lambda_od": 10.0,
        "lambda_d": None,
        "cov_estimate": "running",
        "momentum": 0.9,
    }
    choices = {"variant": ("i", "ii"), "cov_estimate": ("running", "batch")}
    bounds = {"lambda_od": (0.0, float("inf")), "lambda_d": (0.0, float("inf")), "momentum": (0.0, 1.0)}

    def derive(self, hp):
        if hp["lambda_d"] is None:
            hp["lambda_d"] = (10.0 if hp["variant"] == "i" else 1.0) * hp["lambda_od"]
        return hp

    def init_state(self, static, latent_dim):
        if static["cov_estimate"] == "batch":
            return {}
        return {"cov": torch.zeros(latent_dim, latent_dim), "seen": torch.zeros(())}

    def terms(self, static, hp, inputs, state):
        cov = batch_covariance(inputs.mu)
        if static["variant"] == "ii":
            cov = cov + torch.diag_embed(torch.exp(inputs.logvar).mean(dim=0))
        new_state = state
        if static["cov_estimate"] == "running":
            weight = hp["momentum"] * state["seen"]  # 0 on the first step: C_1 = Ĉ_batch
            cov = weight * state["cov"].detach() + (1 - weight) * cov
            new_state = {"cov": cov.detach(), "seen": torch.ones_like(state["seen"])}
        off, diag = dip_penalty(cov, hp["lambda_od"], hp["lambda_d"])
        return {"regularizer": inputs.kl + off + diag, "dip_offdiag": off, "dip_diag": diag}, new_state
