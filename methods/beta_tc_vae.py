"""``beta_tc_vae``: β-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs",
Eq. 5 with α = γ = 1), as disentanglement_lib's ``methods/unsupervised/vae.py`` defines it:
``reconstruction + KL + (β − 1)·TC``.

TC is the minibatch-weighted estimate of disentanglement_lib's ``total_correlation``, without
its constants (they do not move the minimum): with ``log q(z_j | x_i)`` the diagonal Gaussian
log-density of sample j under encoding i, per dimension ``l``,

    TC = mean_j [ logsumexp_i Σ_l log q(z_jl | x_i)  −  Σ_l logsumexp_i log q(z_jl | x_i) ].
"""

from __future__ import annotations

import math

import torch

from benchbench.api import Method, methods


def gaussian_log_density(samples: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Element-wise ``log N(samples; mean, exp(logvar))``."""
    return -0.5 * ((samples - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi))


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The minibatch estimate of TC(q(z)) above, up to its constant."""
    log_q = gaussian_log_density(z[:, None, :], mu[None, :, :], logvar[None, :, :])  # [j, i, l]
    log_q_product = torch.logsumexp(log_q, dim=1).sum(dim=1)
    log_q_joint = torch.logsumexp(log_q.sum(dim=2), dim=1)
    return (log_q_joint - log_q_product).mean()


@methods.register("beta_tc_vae")
class BetaTCVAE(Method):
    """β-TCVAE: VAE + (β − 1)·TC with the minibatch-weighted TC estimate."""

    title = "β-TCVAE"
    description = "beta-TCVAE: VAE + (beta - 1) * total correlation (Chen et al. 2018)"
    hyperparameters = {"beta": 6.0}
    bounds = {"beta": (0.0, float("inf"))}

    def terms(self, static, hp, inputs, state):
        tc = total_correlation(inputs.z, inputs.mu, inputs.logvar)
        return {"regularizer": inputs.kl + (hp["beta"] - 1) * tc, "tc": tc}, state
