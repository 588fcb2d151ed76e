"""``dci_es``: explicitness E and size S of DCI-ES (Eastwood et al. 2023, "DCI-ES: An Extended
Disentanglement Framework with Connections to Identifiability"; the authors' reference code,
``andreinicolicioiu/DCI-ES``: ``src/loss_capacity/probing.py`` ``IndependentMLPs``,
``train_model.py`` ``train_test_probe``, ``metrics/explitcitness.py``, ``src/simple_gather.py``).

Explicitness asks how small a probe reads each factor off the codes.  For every hidden width of
``widths`` (0: a linear probe) each factor gets its own MLP (``hidden_layers`` ReLU layers of that
width, PyTorch's default initialisation, raw codes in): a softmax classifier trained with cross
entropy for a factor of ``categorical`` names, a regressor of the value scaled to [0, 1] trained
with squared error for any other.  As in ``train_test_probe``: AdamW (``lr``, no weight decay),
batches of ``batch_size`` reshuffled every epoch, ``passes · pass_size // num_train`` epochs with
the rate cut tenfold at 40 % and 80 % of them, the validation score (accuracy, or R², averaged
over factors) read after the epochs ``linspace(0, epochs, passes)`` and the best of those states
scored on the test codes.  A factor's loss is 1 − accuracy or 1 − R².

A factor's loss–capacity curve is its test loss against the log of the probes' parameters per
factor, made non-increasing (the lowest loss reached at or below each capacity).  Its E is one
minus the area under the curve over the area under the loss of guessing, ``b``, across the same
capacities — 1 − 1/K for a factor of K categories, 1 for a scaled value — the paper's
``1 − AULCC / Z`` with the lowest loss l* = 0: a curve at ``b`` throughout scores 0, a zero loss
at every capacity 1.  ``explicitness`` is the mean over factors.  **Quirk** (``mode = "compat"``
keeps it): the reference's ``compute_explitcitness`` measures the area above the curve's own
minimum, not above l* = 0 (its comment says l* = 0), and doubles it —
``1 − 2·A / ((x_max − x_min)·b)`` — so a flat curve, even at the loss of guessing, scores 1.

``size`` is the paper's S, the dimensionality of the factors over that of the codes (1: as
compact as the ground truth); the reference code does not compute it.  D, C and I of DCI-ES
(importances from SAGE on the probes) are not computed here: ``dci`` gives disentanglement_lib's.

All probes of one width train at once, stacked (each factor's weights one slice of a batched
matrix product, their losses summed, so each gradient and AdamW step is the factor's alone), on
``device`` (by default the model's).  The reference's sizes (14 widths to 3,603, ~3 million
examples per probe) are GPU work; the ``fast`` profile fits a CPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from benchbench.api import (
    COUNT,
    BenchbenchError,
    Mode,
    better,
    bounds,
    defined_by,
    execution,
    label_names,
    metrics,
    names_factors,
    profiles,
    sample_codes,
    shown_as,
)

#: The reference's hidden widths (``configs/mlp/config.yaml``).
WIDTHS = [0, 14, 21, 28, 33, 47, 75, 103, 131, 243, 467, 915, 1811, 3603]
#: The reference's examples per pass: its training split's size, whatever the sample's.
PASS_SIZE = 295_488


def explicitness(log_capacity: np.ndarray, loss: np.ndarray, baseline: float, mode: Mode = "default") -> float:
    """One factor's E from its test losses at increasing capacities."""
    y = np.minimum.accumulate(np.asarray(loss, dtype=np.float64))
    x = np.asarray(log_capacity, dtype=np.float64)
    above = y - y.min() if mode == "compat" else y
    area = np.sum(0.5 * (above[:-1] + above[1:]) * np.diff(x))
    return float(1.0 - (2.0 if mode == "compat" else 1.0) * area / ((x.max() - x.min()) * baseline))


class StackedProbes:
    """One MLP per factor, all of one width, as batched weights ``(factors, in, out)``."""

    def __init__(self, inputs: int, width: int, layers: int, outputs: list[int], generator, device):
        sizes = [inputs] + ([width] * layers if width else [])
        self.outputs = outputs
        self.shapes = list(zip(sizes, sizes[1:] + [max(outputs)]))
        self.params = [
            tensor
            for fan_in, fan_out in self.shapes
            for tensor in self._layer(len(outputs), fan_in, fan_out, generator, device)
        ]
        # logits past a factor's categories are −∞ (their weights never receive a gradient)
        self.mask = torch.zeros(len(outputs), 1, max(outputs), device=device)
        for i, n in enumerate(outputs):
            self.mask[i, :, n:] = -math.inf if n > 1 else 0.0

    @staticmethod
    def _layer(factors, fan_in, fan_out, generator, device):
        """``nn.Linear``'s default initialisation: weights and biases U(±1/√fan_in)."""
        bound = 1 / math.sqrt(fan_in)
        weight = (torch.rand(factors, fan_in, fan_out, generator=generator) * 2 - 1) * bound
        bias = (torch.rand(factors, 1, fan_out, generator=generator) * 2 - 1) * bound
        return weight.to(device).requires_grad_(), bias.to(device).requires_grad_()

    def num_params(self) -> int:
        """Parameters of the factors' own probes (the padding of the stack not counted)."""
        hidden = sum((i + 1) * o for i, o in self.shapes[:-1]) * len(self.outputs)
        return hidden + sum((self.shapes[-1][0] + 1) * n for n in self.outputs)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = x.expand(len(self.outputs), *x.shape)
        pairs = list(zip(self.params[::2], self.params[1::2]))
        for weight, bias in pairs[:-1]:
            h = torch.relu(torch.baddbmm(bias, h, weight))
        weight, bias = pairs[-1]
        return torch.baddbmm(bias, h, weight) + self.mask


def _losses(out: torch.Tensor, targets: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
    """Each factor's training loss: cross entropy, or squared error of the first output."""
    classes = torch.where(categorical[:, None], targets.T, 0.0).long().unsqueeze(-1)
    cross = -torch.log_softmax(out, dim=-1).gather(-1, classes).squeeze(-1).mean(-1)
    square = ((out[..., 0] - targets.T) ** 2).mean(-1)
    return torch.where(categorical, cross, square)


def _scores(out: torch.Tensor, targets: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
    """Each factor's accuracy, or R² of the scaled value."""
    accuracy = (out.argmax(-1) == targets.T).double().mean(-1)
    y, pred = targets.T.double(), out[..., 0].double()
    r2 = 1 - ((y - pred) ** 2).sum(-1) / ((y - y.mean(-1, keepdim=True)) ** 2).sum(-1)
    return torch.where(categorical, accuracy, r2)


def train_probes(probes, train, val, test, categorical, *, epochs, checks, batch_size, lr, generator):
    """Train stacked probes as ``train_test_probe`` does; the test scores of the best validated state."""
    optimiser = torch.optim.AdamW(probes.params, lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.MultiStepLR(optimiser, [int(epochs * 0.4), int(epochs * 0.8)], 0.1)
    (x, y), n = train, len(train[0])
    best, best_state = -math.inf, None
    for epoch in range(epochs):
        order = torch.randperm(n, generator=generator).to(x.device)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            optimiser.zero_grad()
            _losses(probes(x[batch]), y[batch], categorical).sum().backward()
            optimiser.step()
        schedule.step()
        if epoch in checks:
            with torch.no_grad():
                score = _scores(probes(val[0]), val[1], categorical).mean().item()
            if score > best:
                best, best_state = score, [p.detach().clone() for p in probes.params]
    with torch.no_grad():
        for param, kept in zip(probes.params, best_state or probes.params):
            param.copy_(kept)
        return _scores(probes(test[0]), test[1], categorical).cpu().numpy()


def _targets(factors: np.ndarray, sizes: np.ndarray, categorical: np.ndarray, device) -> torch.Tensor:
    """Class indices for categorical factors, values scaled to [0, 1] for the others."""
    scaled = factors / np.maximum(sizes - 1, 1)
    return torch.as_tensor(np.where(categorical, factors, scaled), dtype=torch.float32, device=device)


#: A CPU's share: smaller samples, the widths to 243, a tenth of the examples per pass and ten
#: times the rate (at the reference's, that budget leaves even the linear probe far from its fit).
FAST = {
    "num_train": 3000, "num_val": 1000, "num_test": 2000, "widths": [0, 14, 28, 47, 103, 243], "pass_size": 30_000,
    "lr": 2e-3,
}  # fmt: skip


@metrics.register("dci_es")
@defined_by("Eastwood et al. 2023; andreinicolicioiu/DCI-ES (loss_capacity probing/train_model, explitcitness.py)")
@better(explicitness="higher", size="higher")
@shown_as(explicitness="DCI-ES explicitness", size="DCI-ES size")
@bounds(
    num_train=COUNT, num_val=COUNT, num_test=COUNT, widths=(0, math.inf), hidden_layers=(1, math.inf),
    passes=COUNT, pass_size=COUNT, batch_size=COUNT, lr=(0, math.inf),
)  # fmt: skip
@profiles(fast=FAST)
@names_factors("categorical")
@execution("device")
def dci_es(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    num_val: int = 5_000,
    num_test: int = 5_000,
    widths: list[int] = WIDTHS,
    hidden_layers: int = 2,
    categorical: list[str] | None = None,
    passes: int = 10,
    pass_size: int = PASS_SIZE,
    batch_size: int = 128,
    lr: float = 2e-4,
    mode: Mode = "default",
    device: str | None = None,
):
    """Explicitness (area above the loss–capacity curves of per-factor MLP probes) and size of the codes.

    ``categorical``: the factors probed by classification; by default the dataset's
    ``categorical_factors`` (every label of a labelled dataset).  ``device``: where the probes
    train; by default the model's, else the CPU.
    """
    names = label_names(dataset)
    if len(set(widths)) < 2:
        raise BenchbenchError("widths: a loss–capacity curve needs at least two probe widths")
    chosen = categorical if categorical is not None else getattr(dataset, "categorical_factors", names)
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise BenchbenchError(f"categorical: no factor {', '.join(unknown)} (factors: {', '.join(names)})")
    device = torch.device(device or model.device)
    draws = [sample_codes(dataset, model, n, rng) for n in (num_train, num_val, num_test)]
    known = getattr(dataset, "factor_sizes", ())
    sizes = np.array(known or np.concatenate([f for _, f in draws]).max(axis=0) + 1)
    is_categorical = np.array([name in chosen for name in names])
    splits = [
        (torch.as_tensor(codes, dtype=torch.float32, device=device), _targets(f, sizes, is_categorical, device))
        for codes, f in draws
    ]
    outputs = [int(s) if c else 1 for s, c in zip(sizes, is_categorical)]
    mask = torch.as_tensor(is_categorical, device=device)
    epochs = max(1, passes * pass_size // num_train)
    checks = set(np.linspace(0, epochs, passes).astype(int).tolist())
    generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
    capacity, loss = [], []
    for width in sorted(set(widths)):
        probes = StackedProbes(splits[0][0].shape[1], width, hidden_layers, outputs, generator, device)
        capacity.append(probes.num_params() // len(names))
        scores = train_probes(
            probes, *splits, mask, epochs=epochs, checks=checks, batch_size=batch_size, lr=lr, generator=generator
        )
        loss.append(1.0 - scores)
    loss = np.stack(loss)
    baseline = np.where(is_categorical, 1.0 - 1.0 / sizes, 1.0)
    per_factor = np.array([explicitness(np.log(capacity), loss[:, k], baseline[k], mode) for k in range(len(names))])
    return {
        "explicitness": float(per_factor.mean()),
        "size": len(names) / splits[0][0].shape[1],
        "explicitness_per_factor": per_factor,
        "loss_capacity": loss,
        "capacity": np.array(capacity),
    }
