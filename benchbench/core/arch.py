"""Encoder/decoder architectures, chosen by name in a cell, and the decoder likelihoods.

``conv`` is disentanglement_lib's conv encoder / deconv decoder; ``mlp`` is Higgins et al.'s
2D Shapes network.  Both map images ``(B, C, 64, 64)`` to ``(μ, log σ²)`` and latents back to
decoder logits of the image's shape.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from benchbench.core.registry import BenchbenchError


class VAENet(nn.Module):
    """An encoder producing ``2·latent_dim`` outputs (μ, log σ²) and a decoder producing logits."""

    has_posterior = True

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int):
        super().__init__()
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image at ``z`` (what a reconstruction shows)."""
        return decoder_mean(self.decode(z))

    def forward(self, x: torch.Tensor, eps: torch.Tensor, posterior=None):
        """``(μ, log σ², z, logits)`` with the reparametrised sample ``z = μ + σ·eps``.

        The layers compute in ``x``'s dtype (with weights of that dtype: bf16 cells); ``μ``,
        ``log σ²`` and ``z`` are always fp32, the sample drawn at full precision.  ``posterior``
        maps the encoder's ``(μ, log σ²)`` to those sampled from (a weakly supervised method
        averages a pair's), when given."""
        mu, logvar = (h.float() for h in self.encode(x))
        if posterior is not None:
            mu, logvar = posterior(mu, logvar)
        z = mu + torch.exp(0.5 * logvar) * eps
        return mu, logvar, z, self.decode(z.to(x.dtype))


def conv_net(image_shape: tuple[int, int, int], latent_dim: int) -> VAENet:
    """Encoder 32-4×4/2, 32-4×4/2, 64-2×2/2, 64-2×2/2, FC 256 → (μ, log σ²); decoder FC 256,
    FC 1024 → 64×4×4, deconv 64, 32, 32, C (all 4×4/2).  Padding reproduces TF's "same"."""
    c, h, w = image_shape
    if (h, w) != (64, 64):
        raise BenchbenchError(f"arch 'conv' needs 64×64 images, got {h}×{w}")
    encoder = nn.Sequential(
        nn.Conv2d(c, 32, 4, 2, 1),
        nn.ReLU(),
        nn.Conv2d(32, 32, 4, 2, 1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 2, 2),
        nn.ReLU(),
        nn.Conv2d(64, 64, 2, 2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(1024, 256),
        nn.ReLU(),
        nn.Linear(256, 2 * latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 256),
        nn.ReLU(),
        nn.Linear(256, 1024),
        nn.ReLU(),
        nn.Unflatten(1, (64, 4, 4)),
        nn.ConvTranspose2d(64, 64, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 4, 2, 1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, c, 4, 2, 1),
    )
    return VAENet(encoder, decoder, latent_dim)


def mlp_net(image_shape: tuple[int, int, int], latent_dim: int) -> VAENet:
    """Encoder FC 1200-1200 (ReLU) → (μ, log σ²); decoder FC 1200×3 (tanh) → pixels."""
    n = math.prod(image_shape)
    encoder = nn.Sequential(
        nn.Flatten(),
        nn.Linear(n, 1200),
        nn.ReLU(),
        nn.Linear(1200, 1200),
        nn.ReLU(),
        nn.Linear(1200, 2 * latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 1200),
        nn.Tanh(),
        nn.Linear(1200, 1200),
        nn.Tanh(),
        nn.Linear(1200, 1200),
        nn.Tanh(),
        nn.Linear(1200, n),
        nn.Unflatten(1, image_shape),
    )
    return VAENet(encoder, decoder, latent_dim)


ARCHITECTURES = {"conv": conv_net, "mlp": mlp_net}


@torch.no_grad()
def tensorflow_init(module: nn.Module) -> None:
    """TensorFlow 1's default initial weights, with which disentanglement_lib's layers start:
    Glorot-uniform kernels, ``U(±√(6 / (fan_in + fan_out)))`` (PyTorch's layouts give the same
    fans), and zero biases.  A :class:`VAENet`'s last encoder layer is TensorFlow's two layers
    ``means`` and ``log_var``, so each half is drawn with its own ``fan_out`` (the latent size)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    if isinstance(module, VAENet):
        for half in module.encoder[-1].weight.chunk(2):  # the μ rows, then the log σ² rows
            nn.init.xavier_uniform_(half)


def build_net(arch: str, image_shape: tuple[int, int, int], latent_dim: int) -> VAENet:
    try:
        factory = ARCHITECTURES[arch]
    except KeyError:
        raise BenchbenchError(f"unknown arch {arch!r} (known: {', '.join(ARCHITECTURES)})") from None
    return factory(tuple(image_shape), latent_dim)


def reconstruction_nll(likelihood: str, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-example negative log-likelihood, summed over pixels (disentanglement_lib's losses).

    Bernoulli: sigmoid cross-entropy on the logits.  Gaussian: squared error of the mean
    ``sigmoid(logits)`` (a fixed-variance Gaussian up to constants, disentanglement_lib's l2 loss).
    """
    if likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif likelihood == "gaussian":
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    else:
        raise BenchbenchError(f"unknown likelihood {likelihood!r} (known: bernoulli, gaussian)")
    return per_pixel.flatten(1).sum(1)


def decoder_mean(logits: torch.Tensor) -> torch.Tensor:
    """The decoder's mean image: ``sigmoid(logits)`` for both likelihoods."""
    return torch.sigmoid(logits)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Minibatch mean of the analytic ``KL(N(μ, σ²) ‖ N(0, I))``, summed over latents."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1).mean()
