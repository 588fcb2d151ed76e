"""``annealed_vae``: AnnealedVAE (Burgess et al. 2018, "Understanding disentangling in β-VAE",
Eq. 8), as disentanglement_lib's ``methods/unsupervised/vae.py`` defines it:
``reconstruction + γ·|KL − C|`` with the capacity ``C = min(c_max, c_max · step /
iteration_threshold)`` rising linearly from 0, ``step`` counting the updates before this one.
Defaults are the study's (Locatello et al. 2019): γ = 1000, threshold 100,000, c_max 25.
"""

from __future__ import annotations

import torch

from benchbench.api import Method, methods


def capacity(c_max: torch.Tensor, step: torch.Tensor, iteration_threshold: torch.Tensor) -> torch.Tensor:
    return torch.minimum(c_max, c_max * step / iteration_threshold)


@methods.register("annealed_vae")
class AnnealedVAE(Method):
    """AnnealedVAE: VAE whose KL is pulled towards a capacity C that grows during training."""

    title = "AnnealedVAE"
    description = "AnnealedVAE: reconstruction + gamma * |KL - C|, C rising linearly to c_max (Burgess et al. 2018)"
    hyperparameters = {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100_000.0}
    bounds = {"gamma": (0.0, float("inf")), "c_max": (0.0, float("inf")), "iteration_threshold": (1.0, float("inf"))}

    def terms(self, static, hp, inputs, state):
        c = capacity(hp["c_max"], inputs.step, hp["iteration_threshold"])
        return {"regularizer": hp["gamma"] * (inputs.kl - c).abs(), "capacity": c}, state
