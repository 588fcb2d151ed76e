"""Pairs of observations for weakly supervised training, drawn as disentanglement_lib's
``train_weak_lib.simple_dynamics`` draws them, from a model's own generator on the device.

Each pair: a first image drawn uniformly from the training images; its factors; how many to
change — with ``k = "random"`` first ``k`` uniform in 1 … F − 1, then 1 or ``k`` with equal
chance (the reference's ``random_state.choice([1, k])``, for a fixed ``k`` too); which — that
many distinct factors in a uniformly random order; each changed factor set to a value drawn
uniformly from all of its values (the old one included, as the reference draws it: a "changed"
factor may keep its value); the second image is the one with the new factors.  The pair's label
is the last factor in that order (the reference's ``index``).  The reference draws the new values
from numpy's global generator; here every draw comes from the model's generator, so a pair
stream is fixed by the cell's seed, independent of its pack, and resumes from a checkpoint.
"""

from __future__ import annotations

import torch

from benchbench.core.registry import BenchbenchError
from benchbench.plugin.data import Dataset, GroundTruthDataset


def check_pairs(dataset: Dataset, k, method: str) -> None:
    """A one-line error where ``dataset`` cannot give pairs sharing all but ``k`` factors."""
    if not isinstance(dataset, GroundTruthDataset):
        raise BenchbenchError(
            f"method {method!r} trains on pairs of observations that share factors: {dataset.name} has no "
            "ground-truth factors (use a ground-truth dataset: shapes2d, dsprites, shapes3d, …)"
        )
    factors = len(dataset.factor_sizes)
    if k == "random" and factors < 2:
        raise BenchbenchError(f"k = 'random' draws 1 … F − 1 changed factors: {dataset.name} has {factors}")
    if k != "random" and not 1 <= int(k) <= factors:
        raise BenchbenchError(f"k = {k}: {dataset.name} has {factors} factors (k must be 1 … {factors})")


def pair_rows(
    dataset: GroundTruthDataset, train_idx: torch.Tensor, k, batch: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(first, second, last_changed)``: ``batch`` pairs' dataset indices and the index of each
    pair's last changed factor, every draw from ``generator`` (in this order: first images, k,
    one-or-k, the factors' order, the new values)."""
    device = train_idx.device
    sizes = torch.as_tensor(dataset.factor_sizes, dtype=torch.long, device=device)
    bases = torch.as_tensor(dataset.factor_bases, dtype=torch.long, device=device)
    factors = sizes.numel()
    first = train_idx[torch.randint(train_idx.numel(), (batch,), generator=generator, device=device)]
    old = (first[:, None] // bases) % sizes
    if k == "random":
        observed = torch.randint(1, factors, (batch,), generator=generator, device=device)
    else:
        observed = torch.full((batch,), int(k), dtype=torch.long, device=device)
    one = torch.rand(batch, generator=generator, device=device) < 0.5
    count = torch.where(one, torch.ones_like(observed), observed)
    order = torch.rand(batch, factors, generator=generator, device=device).argsort(dim=1)
    position = torch.empty_like(order).scatter_(1, order, torch.arange(factors, device=device).expand(batch, -1))
    changed = position < count[:, None]  # the first `count` factors of the order
    drawn = (torch.rand(batch, factors, generator=generator, device=device) * sizes).long()
    new = torch.where(changed, drawn, old)
    last = order.gather(1, (count - 1)[:, None]).squeeze(1)
    return first, (new * bases).sum(dim=1), last


def one_hot(last: torch.Tensor, latent_dim: int) -> torch.Tensor:
    """The reference's ``tf.one_hot(label, latent_dim)``: a row of zeros where the factor's index
    is not a latent's (more factors than latents)."""
    return (last[:, None] == torch.arange(latent_dim, device=last.device)).float()
