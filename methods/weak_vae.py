"""Weakly supervised VAEs on pairs of observations (Locatello et al., ICML 2020, "Weakly-Supervised
Disentanglement Without Compromises"; disentanglement_lib's ``methods/weak/weak_vae.py``).

Both images of a pair are encoded; the latents the pair is taken to share get one posterior —
GroupVAE's arithmetic mean of the two (``μ = (μ₁ + μ₂)/2``, ``σ² = (σ₁² + σ₂²)/2``), ML-VAE's
product of the two experts (``σ² = 2σ₁²σ₂²/(σ₁² + σ₂²)``, ``μ = (μ₁/σ₁² + μ₂/σ₂²)·σ²/2``) — and the
others keep each image's own.  Which latents differ: ``argmax`` (the adaptive Ada-GVAE / Ada-ML-VAE)
bins the per-latent KL between the pair's posteriors into two equal-width bins between its
smallest and largest value and keeps apart those in the upper bin (every latent averaged where
all KLs are equal: the reference's 0/0 bin is no bin); ``labels`` keeps apart the latent whose
index is the pair's last changed factor (none where that index is not a latent's). Each image's
code is sampled from its posterior and decoded; the loss is the mean of the two reconstruction
losses plus β times the mean of the two KLs to the prior — over the 2·batch images at once,
which is the same mean."""

from collections.abc import Callable

import torch

from benchbench.api import Method, methods

#: ``k``: how many factors a pair's second image redraws (a static hyperparameter: the pair
#: stream's structure), as the reference's ``dynamics.k`` (``-1`` there: "random").
K_VALUES = ("random", 1, 2, 3, 4, 5, 6, 7, 8, 9)


def pair_kl(mu_1, mu_2, logvar_1, logvar_2):
    """The reference's ``compute_kl``: 2·KL(q₁ ‖ q₂) per latent (its scale does not move the bins)."""
    var_1, var_2 = torch.exp(logvar_1), torch.exp(logvar_2)
    return var_1 / var_2 + (mu_2 - mu_1) ** 2 / var_2 - 1 + logvar_2 - logvar_1


def upper_bin(kl: torch.Tensor) -> torch.Tensor:
    """Per row, whether each value falls in the upper of two equal-width bins over the row's range
    (``tf.histogram_fixed_width_bins(x, [min, max], nbins=2) == 1``)."""
    low, high = kl.amin(dim=-1, keepdim=True), kl.amax(dim=-1, keepdim=True)
    bins = torch.floor(2.0 * ((kl - low) / (high - low))).clamp(0, 1)  # NaN (all equal) stays NaN: no bin
    return bins == 1


def group_average(mu_1, mu_2, logvar_1, logvar_2):
    """GroupVAE's shared posterior: the arithmetic mean of the pair's."""
    return 0.5 * mu_1 + 0.5 * mu_2, torch.log(0.5 * torch.exp(logvar_1) + 0.5 * torch.exp(logvar_2))


def product_of_experts(mu_1, mu_2, logvar_1, logvar_2):
    """ML-VAE's shared posterior: the product of the pair's two experts."""
    var_1, var_2 = torch.exp(logvar_1), torch.exp(logvar_2)
    var = 2 * var_1 * var_2 / (var_1 + var_2)
    return (mu_1 / var_1 + mu_2 / var_2) * var * 0.5, torch.log(var)


def apart_by_kl(mu_1, mu_2, logvar_1, logvar_2, draws):
    """The adaptive k: the latents in the upper bin of the pair's KL."""
    return upper_bin(pair_kl(mu_1, mu_2, logvar_1, logvar_2))


def apart_by_label(mu_1, mu_2, logvar_1, logvar_2, draws):
    """The latent at the pair's last changed factor (the reference's ``aggregate_labels``)."""
    labels = draws["changed"]
    return labels == labels.amax(dim=1, keepdim=True)


class WeakVAE(Method):
    """Shared machinery; each method names how the shared latents are averaged (``average``) and
    which latents are kept apart (``apart``)."""

    hyperparameters = {"beta": 1.0, "k": 1}
    choices = {"k": K_VALUES}
    bounds = {"beta": (0.0, float("inf"))}
    observes = "pairs"
    average: Callable
    apart: Callable

    def posterior(self, static, hp, mu, logvar, draws):
        half = mu.shape[0] // 2
        pair = mu[:half], mu[half:], logvar[:half], logvar[half:]
        new_mean, new_logvar = self.average(*pair)
        apart = self.apart(*pair, draws)
        mus = [torch.where(apart, m, new_mean) for m in pair[:2]]
        logvars = [torch.where(apart, lv, new_logvar) for lv in pair[2:]]
        return torch.cat(mus), torch.cat(logvars)

    def terms(self, static, hp, inputs, state):
        return {"regularizer": hp["beta"] * inputs.kl}, state


@methods.register("group_vae_argmax")
class AdaGVAE(WeakVAE):
    """Ada-GVAE: GroupVAE averaging, the latents apart chosen by the pair's KL."""

    title = "Ada-GVAE"
    description = "Ada-GVAE: pairs sharing factors, mean posterior on the low-KL latents (weak supervision)"
    average, apart = staticmethod(group_average), staticmethod(apart_by_kl)


@methods.register("group_vae_labels")
class GroupVAELabels(WeakVAE):
    """GroupVAE told which factor changed last: that latent apart, the others averaged."""

    description = "GroupVAE on pairs, the changed factor's latent apart (weak supervision with labels)"
    average, apart = staticmethod(group_average), staticmethod(apart_by_label)


@methods.register("mlvae_argmax")
class AdaMLVAE(WeakVAE):
    """Ada-ML-VAE: ML-VAE's product of experts, the latents apart chosen by the pair's KL."""

    title = "Ada-ML-VAE"
    description = "Ada-ML-VAE: pairs sharing factors, product-of-experts posterior on the low-KL latents"
    average, apart = staticmethod(product_of_experts), staticmethod(apart_by_kl)


@methods.register("mlvae_labels")
class MLVAELabels(WeakVAE):
    """ML-VAE told which factor changed last."""

    description = "ML-VAE on pairs, the changed factor's latent apart (weak supervision with labels)"
    average, apart = staticmethod(product_of_experts), staticmethod(apart_by_label)
