"""DCI-ES's explicitness: the reference's curve arithmetic replayed, the stacked probes checked
against separately trained PyTorch MLPs, and codes with known answers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from toy import Adapter, ToyFactors, factors_plus_noise, pure_noise

from benchbench.core.registry import BenchbenchError, metrics
from benchbench.metrics.dci_es import StackedProbes, _losses, explicitness


def _reference_explicitness(x, y, baseline):
    """``Explitcitness.add_curve`` + ``get_explitcitness`` of andreinicolicioiu/DCI-ES, one curve, as written there."""
    y = np.array(y, dtype=np.float64)
    for i in range(y.shape[0]):
        y[i] = y[: i + 1].min()
    x = np.array(x, dtype=np.float64)
    max_area = (x.max() - x.min()) * baseline
    min_y = y[np.argmin(y)]
    dy = 0.5 * (y[:-1] - min_y) + 0.5 * (y[1:] - min_y)
    return 1.0 - (2 * dy * (x[1:] - x[:-1]) / max_area).sum()


def test_explicitness_by_hand_and_as_the_reference_computes_it():
    x, y = [0.0, 1.0, 2.0], [0.5, 0.7, 0.1]  # running minimum 0.5, 0.5, 0.1
    assert explicitness(x, y, 1.0) == pytest.approx(1 - (0.5 + 0.3) / 2, abs=1e-15)  # area above l* = 0
    assert explicitness(x, y, 1.0, "compat") == pytest.approx(1 - 2 * (0.4 + 0.2) / 2, abs=1e-15)
    flat = [2 / 3] * 4
    assert explicitness(np.arange(4.0), flat, 2 / 3) == pytest.approx(0, abs=1e-15)  # guessing throughout
    assert explicitness(np.arange(4.0), flat, 2 / 3, "compat") == 1.0  # the reference's quirk
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = np.log(np.sort(rng.integers(5, 10_000, size=8)).astype(float) + np.arange(8))
        y, b = rng.random(8), rng.choice([1.0, 2 / 3, 5 / 6])
        assert explicitness(x, y, b, "compat") == pytest.approx(_reference_explicitness(x, y, b), abs=1e-12)


def _independent_mlp(probes, k, outputs):
    """Factor ``k``'s slice of the stack as its own ``nn.Sequential`` of ``nn.Linear`` layers."""
    layers = []
    for weight, bias in zip(probes.params[::2], probes.params[1::2]):
        out = weight.shape[2] if weight is not probes.params[-2] else outputs
        linear = torch.nn.Linear(weight.shape[1], out)
        with torch.no_grad():
            linear.weight.copy_(weight[k, :, :out].T)
            linear.bias.copy_(bias[k, 0, :out])
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def test_stacked_probes_train_exactly_as_separate_mlps():
    """A 3-category factor (cross entropy) and a scaled value (squared error), stacked, step for step."""
    gen = torch.Generator().manual_seed(0)
    probes = StackedProbes(6, 5, 2, [3, 1], gen, "cpu")
    alone = [_independent_mlp(probes, 0, 3), _independent_mlp(probes, 1, 1)]
    assert probes.num_params() == sum(p.numel() for m in alone for p in m.parameters())
    stacked_opt = torch.optim.AdamW(probes.params, lr=1e-2, weight_decay=0.0)
    alone_opts = [torch.optim.AdamW(m.parameters(), lr=1e-2, weight_decay=0.0) for m in alone]
    categorical = torch.tensor([True, False])
    for _ in range(25):
        x = torch.randn(16, 6, generator=gen)
        y = torch.stack([torch.randint(0, 3, (16,), generator=gen).float(), torch.rand(16, generator=gen)], 1)
        stacked_opt.zero_grad()
        _losses(probes(x), y, categorical).sum().backward()
        stacked_opt.step()
        losses = [F.cross_entropy(alone[0](x), y[:, 0].long()), F.mse_loss(alone[1](x)[:, 0], y[:, 1])]
        for opt, loss in zip(alone_opts, losses):
            opt.zero_grad()
            loss.backward()
            opt.step()
    x = torch.randn(50, 6, generator=gen)
    with torch.no_grad():
        out = probes(x)
        torch.testing.assert_close(out[0], alone[0](x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out[1, :, 0], alone[1](x)[:, 0], atol=1e-5, rtol=1e-5)
    linear = StackedProbes(6, 0, 2, [3, 1], gen, "cpu")
    assert len(linear.params) == 2 and linear.num_params() == (6 + 1) * 3 + (6 + 1) * 1


SMALL = dict(num_train=500, num_val=300, num_test=500, widths=[0, 4, 16], pass_size=4000, lr=1e-2)
TINY = dict(widths=[0, 2], pass_size=500)


def _score(model, **options):
    return metrics.get("dci_es")(ToyFactors(), model, np.random.default_rng(0), **{**SMALL, **options})


def test_explicit_codes_score_above_noise_and_size_counts_dimensions():
    good = _score(factors_plus_noise(), categorical=["d"])
    noise = _score(pure_noise(), categorical=["d"])
    assert good["loss_capacity"].shape == (3, 4) and good["capacity"].tolist() == sorted(good["capacity"])
    assert good["explicitness"] > 0.8 and noise["explicitness"] < 0.2
    assert good["size"] == 1.0 and _score(Adapter(lambda x: np.c_[x, x]), **TINY)["size"] == 0.5
    per_factor = [
        explicitness(np.log(good["capacity"]), good["loss_capacity"][:, k], 1 - 1 / 3 if k == 3 else 1.0)
        for k in range(4)
    ]
    assert good["explicitness_per_factor"] == pytest.approx(per_factor, abs=1e-15)
    once, again = (_score(factors_plus_noise(), **TINY) for _ in range(2))
    assert once["loss_capacity"].tolist() == again["loss_capacity"].tolist()  # the evaluation's stream alone


def test_categorical_names_and_widths_are_checked():
    with pytest.raises(BenchbenchError, match="no factor nope"):
        _score(pure_noise(), categorical=["nope"])
    with pytest.raises(BenchbenchError, match="at least two probe widths"):
        _score(pure_noise(), widths=[8, 8])
    assert math.isfinite(_score(pure_noise(), **TINY)["explicitness"])
