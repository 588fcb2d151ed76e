"""Weak supervision (Locatello et al. 2020): the pair sampler's distribution against the
reference's process worked out exactly, the four methods' posteriors and loss against float64
formulas written from disentanglement_lib's ``weak_vae.py``, a weak pack killed -9 and resumed
bit for bit, and an Ada-GVAE trained and scored like any model."""

import itertools
import math
import signal

import numpy as np
import pytest
import torch
from faults import SPEC, assert_same, command, finish, launch, snapshot
from run_helpers import assert_one_line_error, grid_toml
from scipy.stats import chisquare
from torch.func import functional_call

from benchbench.api import methods, metrics
from benchbench.cli import cli
from benchbench.core.arch import build_net
from benchbench.core.registry import BenchbenchError
from benchbench.plugin.data import GroundTruthDataset
from benchbench.storage.store import RunStore
from benchbench.training.pairs import check_pairs, one_hot, pair_rows


class Factors(GroundTruthDataset):
    """Factors only (3 × 4 × 5): the sampler reads sizes, never images."""

    name = "factors"
    factor_names = ("a", "b", "c")
    factor_sizes = (3, 4, 5)

    def images_at(self, indices):
        raise AssertionError("the sampler must not read images")

    image_store = images_at


def reference_law(sizes, k) -> tuple[dict[tuple[bool, ...], float], np.ndarray]:
    """Exactly, from ``train_weak_lib.simple_dynamics``: P(which factors differ in value) and
    P(the label is factor j).  ``k`` (or, for "random", k ~ U{1 … F−1}); then 1 or k with equal
    chance; that many distinct factors in uniform order, the label the last; each redrawn
    uniformly from all its values."""
    f = len(sizes)
    ks = range(1, f) if k == "random" else [k]
    differ, label = {}, np.zeros(f)
    for k_observed in ks:
        for count in (1, k_observed):
            weight = 1 / len(ks) * 0.5
            orders = list(itertools.permutations(range(f), count))
            for order in orders:
                p_order = weight / len(orders)
                label[order[-1]] += p_order
                for moved in itertools.product([False, True], repeat=count):
                    p = p_order * math.prod((sizes[j] - 1) / sizes[j] if m else 1 / sizes[j]
                                            for j, m in zip(order, moved))  # fmt: skip
                    key = tuple(j in [o for o, m in zip(order, moved) if m] for j in range(f))
                    differ[key] = differ.get(key, 0.0) + p
    return differ, label


@pytest.mark.parametrize("k", [1, 2, 3, "random"])
def test_pairs_follow_the_reference_dynamics(k):
    """Which factors differ and which factor is the label, over 40,000 pairs, against the law
    worked out from the reference (chi-square, p > 0.001 from a fixed seed); the first image
    uniform over the training images; the second shares every factor not redrawn."""
    data, n = Factors(), 40_000
    gen = torch.Generator().manual_seed(0)
    train = torch.arange(len(data))
    first, second, last = pair_rows(data, train, k, n, gen)
    a, b = data.index_to_factors(first.numpy()), data.index_to_factors(second.numpy())
    law, label_law = reference_law(data.factor_sizes, k)
    keys = sorted(law)
    seen = {key: 0 for key in keys}
    for row in map(tuple, a != b):
        seen[row] += 1  # a pattern outside the law would raise KeyError
    assert chisquare([seen[key] for key in keys], [law[key] * n for key in keys]).pvalue > 1e-3
    labels = np.bincount(last.numpy(), minlength=3)
    assert chisquare(labels, label_law * n).pvalue > 1e-3
    assert chisquare(np.bincount(first.numpy(), minlength=len(data))).pvalue > 1e-3
    again = pair_rows(data, train, k, n, torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip(again, (first, second, last)))  # from the generator alone


def test_pairs_refuse_what_a_dataset_cannot_give(tmp_path, cli_runner):
    """A k beyond the dataset's factors, or a dataset without factors, is one line (exit 2)
    before anything is written."""
    with pytest.raises(BenchbenchError, match=r"k = 4: factors has 3 factors \(k must be 1 … 3\)"):
        check_pairs(Factors(), 4, "group_vae_argmax")
    with pytest.raises(BenchbenchError, match="celeba has no ground-truth factors"):
        check_pairs(type("CelebA", (), {"name": "celeba"})(), 1, "mlvae_argmax")
    grid = tmp_path / "weak.toml"
    sweep = [{"datasets": ["shapes2d"], "method": "group_vae_argmax", "hyperparameters": {"k": 7}}]
    grid.write_text(grid_toml({"name": "weak", "seeds": 1, "train": {"steps": 2}, "sweep": sweep}))
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--results", str(tmp_path / "out"), "--no-progress"])
    assert_one_line_error(out, "k = 7: shapes2d has 5 factors (k must be 1 … 5)")
    assert not (tmp_path / "out").exists()
    assert one_hot(torch.tensor([0, 2, 7]), 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]


# ------------------------------------------------------------------ the reference, in float64
def ref_kl(m1, m2, l1, l2):
    return np.exp(l1) / np.exp(l2) + (m2 - m1) ** 2 / np.exp(l2) - 1 + l2 - l1


def ref_argmax_mask(kl):
    """``tf.histogram_fixed_width_bins(x, [min, max], nbins=2) == 1`` row by row; a row of equal
    values bins nowhere (0/0)."""
    out = np.zeros(kl.shape, bool)
    for i, row in enumerate(kl):
        low, high = row.min(), row.max()
        if high > low:
            out[i] = np.clip(np.floor(2 * (row - low) / (high - low)), 0, 1) == 1
    return out


def ref_posteriors(method, m1, m2, l1, l2, labels):
    if method.startswith("group_vae"):
        mean, logvar = 0.5 * m1 + 0.5 * m2, np.log(0.5 * np.exp(l1) + 0.5 * np.exp(l2))
    else:
        v1, v2 = np.exp(l1), np.exp(l2)
        var = 2 * v1 * v2 / (v1 + v2)
        mean, logvar = (m1 / v1 + m2 / v2) * var * 0.5, np.log(var)
    if method.endswith("argmax"):
        apart = ref_argmax_mask(ref_kl(m1, m2, l1, l2))
    else:
        apart = labels == labels.max(axis=1, keepdims=True)
    return [(np.where(apart, m, mean), np.where(apart, lv, logvar)) for m, lv in ((m1, l1), (m2, l2))]


METHODS = ["group_vae_argmax", "group_vae_labels", "mlvae_argmax", "mlvae_labels"]


def test_the_reference_s_own_argmax_cases_and_the_edges():
    """disentanglement_lib's ``weak_vae_test`` cases (KL 0…0 1…1 keeps the ones apart; [0, 0.1]
    keeps the second), every KL equal (all averaged) and one latent far apart (it alone kept)."""
    method = methods.get("group_vae_argmax")()
    kl_rows = {
        "theirs": np.concatenate([np.zeros((4, 5)), np.ones((4, 5))], axis=1),
        "two": np.array([[0.0, 0.1]]),
        "equal": np.full((3, 6), 0.7),
        "one far": np.array([[0.01, 0.02, 0.015, 9.0]]),
    }
    for name, kl in kl_rows.items():
        # μ₁ = 0, μ₂ = √row, log σ₁² = 0, log σ₂² = 1: compute_kl = e⁻¹ + row/e, the row's bins; a
        # latent kept apart keeps log σ₁² = 0, an averaged one gets log((1 + e)/2)
        m2 = torch.tensor(np.sqrt(kl), dtype=torch.float32)
        mu, logvar = torch.cat([torch.zeros_like(m2), m2]), torch.cat([torch.zeros_like(m2), torch.ones_like(m2)])
        _, logvar_out = method.posterior({}, {}, mu, logvar, {})
        kept = (logvar_out[: len(m2)] == 0).numpy() & (logvar_out[len(m2) :] == 1).numpy()
        assert (kept == ref_argmax_mask(kl)).all(), name
        assert (kept == ref_argmax_mask(ref_kl(0.0, np.sqrt(kl), 0.0, 1.0))).all(), name
    assert not ref_argmax_mask(kl_rows["equal"]).any() and ref_argmax_mask(kl_rows["one far"]).tolist() == [
        [False, False, False, True]
    ]


@pytest.mark.parametrize("name", METHODS)
def test_posteriors_and_loss_are_the_reference_s(name):
    """On a conv net's real encodings of 6 pairs: the posteriors each method samples from, then
    the loss — mean of the two images' Bernoulli reconstruction losses plus β times the mean of
    their KLs — against the float64 reference (weak_vae.py) from the same noise."""
    torch.manual_seed(0)
    net, d, b, beta = build_net("conv", (1, 64, 64), 5), 5, 6, 3.0
    x = (torch.rand(2 * b, 1, 64, 64) > 0.7).float()
    eps = torch.randn(2 * b, d)
    labels = one_hot(torch.tensor([0, 1, 4, 2, 7, 3]), d)  # a factor past the latents: no label
    method = methods.get(name)()
    static = method.static_part(method.resolve({"beta": beta, "k": 1}))
    hp = {"beta": torch.tensor(beta)}
    posterior = lambda m, lv: method.posterior(static, hp, m, lv, {"changed": labels})  # noqa: E731
    mu, logvar, z, logits = functional_call(net, dict(net.named_parameters()), (x, eps), {"posterior": posterior})
    kl = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).sum(1).mean()
    recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3)).mean()
    terms, _ = method.terms(static, hp, type("I", (), {"kl": kl})(), {})
    loss = float((recon + terms["regularizer"]).detach())

    with torch.no_grad():
        enc = net.encoder(x).double().numpy()
    m, lv = enc[:, :d], enc[:, d:]
    (a1, al1), (a2, al2) = ref_posteriors(name, m[:b], m[b:], lv[:b], lv[b:], labels.double().numpy())
    assert np.allclose(mu.detach().numpy(), np.concatenate([a1, a2]), rtol=1e-5, atol=1e-6)
    assert np.allclose(logvar.detach().numpy(), np.concatenate([al1, al2]), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        ref_recon, ref_kl_terms = [], []
        for i, (am, al) in enumerate([(a1, al1), (a2, al2)]):
            zz = am + np.exp(0.5 * al) * eps[i * b : (i + 1) * b].double().numpy()
            lg = net.decoder(torch.tensor(zz, dtype=torch.float32)).double().numpy()
            xx = x[i * b : (i + 1) * b].double().numpy()
            per = (np.maximum(lg, 0) - lg * xx + np.log1p(np.exp(-np.abs(lg)))).sum((1, 2, 3))
            ref_recon.append(per.mean())
            ref_kl_terms.append((0.5 * (am**2 + np.exp(al) - 1 - al)).sum(1).mean())
    reference = 0.5 * ref_recon[0] + 0.5 * ref_recon[1] + beta * (0.5 * ref_kl_terms[0] + 0.5 * ref_kl_terms[1])
    assert loss == pytest.approx(reference, rel=1e-5)


WEAK = {
    **SPEC,
    "sweep": [
        {"datasets": ["shapes2d"], "method": "group_vae_argmax", "hyperparameters": {"beta": 2, "k": "random"}},
        {"datasets": ["shapes2d"], "method": "mlvae_labels", "hyperparameters": {"beta": 1, "k": 1}},
    ],
}


@pytest.mark.faults
def test_a_weak_pack_killed_mid_run_resumes_its_pair_stream_bit_for_bit(tmp_path):
    """Ada-GVAE and ML-VAE (labels) packs, killed -9 right after a checkpoint and run again: the
    same weights, curves and evaluations as a run never interrupted."""
    text = grid_toml(WEAK)
    finish(command(tmp_path, "straight", grid_text=text))
    killed = command(tmp_path, "killed", grid_text=text)
    assert launch(killed, kill_after="PackStore.save_checkpoint:2") == -signal.SIGKILL
    finish(killed)
    assert_same(snapshot(tmp_path / "killed" / "faults"), snapshot(tmp_path / "straight" / "faults"))


@pytest.mark.slow
def test_an_ada_gvae_trains_on_pairs_and_is_scored_by_every_metric(tmp_path, cli_runner):
    """A tiny Ada-GVAE run: trained from pairs (its curve logged per term), then every
    ground-truth metric at its fast preset, each a done record; CelebA-like data is refused in
    one line (no factors)."""
    grid = tmp_path / "weak.toml"
    spec = {
        "name": "weak",
        "seeds": 1,
        "metric_profile": "fast",
        "train": {"latent_dim": 4, "steps": 12, "batch_size": 8},
        "metrics": {},
        "sweep": [{"datasets": ["shapes2d"], "method": "group_vae_argmax", "hyperparameters": {"k": 1}}],
    }
    grid.write_text(grid_toml(spec))
    out = cli_runner.invoke(cli, ["run", "--grid", str(grid), "--results", str(tmp_path), "--no-progress"])
    assert out.exit_code == 0, out.output
    every = ",".join(metrics.names())
    smaller = {  # fast presets, smaller still where they take seconds: the point is that each applies
        "dci_es.widths": "[0, 14]", "dci_es.passes": "2", "dci_es.num_train": "1000", "dci_es.num_val": "500",
        "dci_es.num_test": "500", "fairness.num_train": "500", "fairness.num_test_points_per_class": "5",
        "downstream_task.num_train": "[10, 100]", "downstream_task.num_test": "200", "beta_vae_score.num_train": "200",
        "beta_vae_score.num_eval": "100", "reconstruction_error.num_images": "500",
    }  # fmt: skip
    options = [arg for key, value in smaller.items() for arg in ("--option", f"{key}={value}")]
    out = cli_runner.invoke(
        cli, ["evaluate", str(tmp_path / "weak"), "--metrics", every, "--profile", "fast", *options]
    )
    assert out.exit_code == 0, out.output
    (store,) = RunStore(tmp_path / "weak").cell_stores()
    assert store.read_log()[-1].keys() >= {"loss", "reconstruction", "kl", "regularizer"}
    records = store.evaluations()
    assert len(records) >= 12 and all(r.status in ("done", "not_applicable") for r in records), [
        (r.metric, r.status) for r in records
    ]
    assert {r.metric for r in records if r.status == "done"} >= {"mig", "dci", "factor_vae_score", "beta_vae_score"}
