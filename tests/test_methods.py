"""Regularisers against independent float64 formulas written out element by element."""

import numpy as np
import pytest
import torch

from benchbench.core.registry import BenchbenchError, methods
from benchbench.plugin.method import Inputs


def reference_cov(mu: np.ndarray) -> np.ndarray:
    """Cov_{p(x)}[μ] written out: (1/N) Σ_n (μ_n − μ̄)(μ_n − μ̄)ᵀ, in float64 loops."""
    n, d = mu.shape
    mean = [sum(mu[k, i] for k in range(n)) / n for i in range(d)]
    cov = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            cov[i, j] = sum((mu[k, i] - mean[i]) * (mu[k, j] - mean[j]) for k in range(n)) / n
    return cov


def reference_penalty(c: np.ndarray, lambda_od: float, lambda_d: float) -> float:
    d = c.shape[0]
    off = sum(c[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    diag = sum((c[i, i] - 1) ** 2 for i in range(d))
    return lambda_od * off + lambda_d * diag


def regulariser(method_name, hp_given, mu, logvar, state=None, kl=0.0):
    method = methods.get(method_name)()
    hp = method.resolve(hp_given)
    static = method.static_part(hp)
    numeric = {k: torch.tensor(v, dtype=torch.float64) for k, v in method.numeric_part(hp).items()}
    state = state if state is not None else {k: v.double() for k, v in method.init_state(static, mu.shape[1]).items()}
    inputs = Inputs(torch.tensor(kl, dtype=torch.float64), mu, logvar, mu, torch.tensor(0.0))
    return method.terms(static, numeric, inputs, state)


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    mu = rng.normal(size=(7, 4)) @ rng.normal(size=(4, 4)) + rng.normal(size=4)  # correlated, off-centre
    logvar = rng.normal(scale=0.5, size=(7, 4))
    return mu, logvar


@pytest.mark.parametrize("variant", ["i", "ii"])
def test_dip_batch_estimator_matches_formula(batch, variant):
    mu, logvar = batch
    terms, _ = regulariser(
        "dip_vae",
        {"variant": variant, "lambda_od": 3.0, "lambda_d": 7.0, "cov_estimate": "batch"},
        torch.tensor(mu),
        torch.tensor(logvar),
        kl=1.25,
    )
    c = reference_cov(mu)
    if variant == "ii":  # E[diag σ²] enters the diagonal only, as σ² (not σ⁴)
        for i in range(c.shape[0]):
            c[i, i] += np.mean(np.exp(logvar[:, i]))
    assert terms["regularizer"].item() == pytest.approx(1.25 + reference_penalty(c, 3.0, 7.0), rel=1e-12)


@pytest.mark.parametrize("variant", ["i", "ii"])
def test_dip_running_estimator_value_and_gradient(batch, variant):
    mu1, logvar = batch
    mu2 = mu1[::-1] * 1.7 + 0.3
    hp = {"variant": variant, "lambda_od": 2.0, "cov_estimate": "running", "momentum": 0.8}

    def target(mu):
        c = reference_cov(mu)
        if variant == "ii":
            c = c + np.diag(np.exp(logvar).mean(axis=0))
        return c

    # step 1: no history, C_1 = Ĉ_batch
    t1, s1 = regulariser("dip_vae", hp, torch.tensor(mu1), torch.tensor(logvar))
    lambda_d = 20.0 if variant == "i" else 2.0
    assert t1["regularizer"].item() == pytest.approx(reference_penalty(target(mu1), 2.0, lambda_d), rel=1e-12)
    np.testing.assert_allclose(s1["cov"].numpy(), target(mu1), rtol=1e-12)
    # step 2: C_2 = 0.8·C_1 + 0.2·Ĉ_batch, gradient only through the current batch
    mu2_t = torch.tensor(mu2.copy(), requires_grad=True)
    t2, s2 = regulariser("dip_vae", hp, mu2_t, torch.tensor(logvar), state=s1)
    c2 = 0.8 * target(mu1) + 0.2 * target(mu2)
    assert t2["regularizer"].item() == pytest.approx(reference_penalty(c2, 2.0, lambda_d), rel=1e-12)
    np.testing.assert_allclose(s2["cov"].numpy(), c2, rtol=1e-12)
    t2["regularizer"].backward()
    # finite-difference gradient of the reference, with C_1 held constant
    eps, num = 1e-6, np.zeros_like(mu2)
    for idx in np.ndindex(mu2.shape):
        plus, minus = mu2.copy(), mu2.copy()
        plus[idx] += eps
        minus[idx] -= eps
        fp = reference_penalty(0.8 * target(mu1) + 0.2 * target(plus), 2.0, lambda_d)
        fm = reference_penalty(0.8 * target(mu1) + 0.2 * target(minus), 2.0, lambda_d)
        num[idx] = (fp - fm) / (2 * eps)
    np.testing.assert_allclose(mu2_t.grad.numpy(), num, rtol=1e-5, atol=1e-7)


def test_dip_defaults_follow_the_paper():
    dip = methods.get("dip_vae")()
    assert dip.resolve({"lambda_od": 5})["lambda_d"] == 50.0
    assert dip.resolve({"lambda_od": 5, "variant": "ii"})["lambda_d"] == 5.0
    assert dip.resolve({"lambda_od": 5, "lambda_d": 1})["lambda_d"] == 1.0
    with pytest.raises(BenchbenchError, match="variant must be one of"):
        dip.resolve({"variant": "iii"})
    with pytest.raises(BenchbenchError, match="has no hyperparameter 'lamda_od'"):
        dip.resolve({"lamda_od": 1})


def test_beta_vae_and_vae(batch):
    mu, logvar = batch
    t, _ = regulariser("beta_vae", {"beta": 6}, torch.tensor(mu), torch.tensor(logvar), kl=0.5)
    assert t["regularizer"].item() == pytest.approx(3.0)
    t, _ = regulariser("vae", {}, torch.tensor(mu), torch.tensor(logvar), kl=0.5)
    assert t["regularizer"].item() == pytest.approx(0.5)
    with pytest.raises(BenchbenchError, match="must be a finite number, got 'big'"):
        methods.get("beta_vae")().resolve({"beta": "big"})


def test_kl_and_reconstruction_match_closed_forms():
    from benchbench.core.arch import kl_to_standard_normal, reconstruction_nll

    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    kl = np.mean([sum(0.5 * (m**2 + np.exp(v) - v - 1) for m, v in zip(mr, vr)) for mr, vr in zip(mu, logvar)])
    assert kl_to_standard_normal(torch.tensor(mu), torch.tensor(logvar)).item() == pytest.approx(kl, rel=1e-12)
    x = (rng.random((2, 1, 4, 4)) > 0.5).astype(np.float64)
    logits = rng.normal(size=x.shape)
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(2, -1).sum(1)
    np.testing.assert_allclose(reconstruction_nll("bernoulli", torch.tensor(logits), torch.tensor(x)).numpy(), bce)
    sq = ((p - x) ** 2).reshape(2, -1).sum(1)
    np.testing.assert_allclose(reconstruction_nll("gaussian", torch.tensor(logits), torch.tensor(x)).numpy(), sq)


# ---------------------------------------------------------------- disentanglement_lib's other methods


def reference_tc(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> float:
    """The minibatch-weighted TC estimate written out in float64, constants dropped:
    mean_j [log Σ_i Π_l q(z_jl|x_i) − Σ_l log Σ_i q(z_jl|x_i)]."""
    n, d = z.shape

    def q(j, i, l):  # N(z_jl; μ_il, σ²_il)
        var = np.exp(logvar[i, l])
        return np.exp(-((z[j, l] - mu[i, l]) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)

    total = 0.0
    for j in range(n):
        joint = np.log(sum(np.prod([q(j, i, l) for l in range(d)]) for i in range(n)))
        product = sum(np.log(sum(q(j, i, l) for i in range(n))) for l in range(d))
        total += joint - product
    return total / n


def test_beta_tc_vae_tc_matches_formula(batch):
    mu, logvar = batch
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(5).normal(size=mu.shape)
    method = methods.get("beta_tc_vae")()
    hp = {"beta": torch.tensor(6.0, dtype=torch.float64)}
    kl = torch.tensor(1.5, dtype=torch.float64)
    inputs = Inputs(kl, *(torch.tensor(a) for a in (mu, logvar, z)), torch.tensor(0.0))
    terms, _ = method.terms({}, hp, inputs, {})
    tc = reference_tc(z, mu, logvar)
    assert terms["tc"].item() == pytest.approx(tc, rel=1e-10)
    assert terms["regularizer"].item() == pytest.approx(1.5 + 5 * tc, rel=1e-10)
    assert method.resolve({})["beta"] == 6.0


def test_annealed_vae_capacity_schedule():
    from benchbench.plugin.method import Inputs

    method = methods.get("annealed_vae")()
    assert method.resolve({}) == {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100_000.0}
    hp = {
        k: torch.tensor(v, dtype=torch.float64)
        for k, v in {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100.0}.items()
    }
    kl = torch.tensor(7.0, dtype=torch.float64)
    for step, c in ((0, 0.0), (20, 5.0), (60, 15.0), (100, 25.0), (400, 25.0)):
        inputs = Inputs(kl, kl, kl, kl, torch.tensor(float(step), dtype=torch.float64))
        terms, _ = method.terms({}, hp, inputs, {})
        assert terms["capacity"].item() == c and terms["regularizer"].item() == pytest.approx(1000 * abs(7.0 - c))


def numpy_discriminator(net, x: np.ndarray) -> np.ndarray:
    """The discriminator's forward pass in float64 numpy, from its weights."""
    h = x
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for k, layer in enumerate(linears):
        h = h @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
        if k < len(linears) - 1:
            h = np.where(h > 0, h, 0.2 * h)
    return h


def test_factor_vae_terms_match_formula(batch):
    from benchbench.methods.factor_vae import discriminator
    from benchbench.plugin.method import Inputs

    mu, _ = batch
    z = torch.tensor(mu)
    method = methods.get("factor_vae")()
    spec = method.auxiliaries({}, z.shape[1])["discriminator"]
    assert (spec.lr, spec.betas) == (1e-4, (0.5, 0.9)) and method.resolve({})["gamma"] == 10.0
    torch.manual_seed(0)
    net = discriminator(z.shape[1]).double()
    assert sum(isinstance(m, torch.nn.Linear) for m in net) == 7  # six hidden layers of 1000, then 2 logits
    generator = torch.Generator().manual_seed(1)
    draws = method.draws({}, z.shape[0], z.shape[1], generator)
    perm = draws["permutation"].numpy()
    assert all(sorted(perm[:, l]) == list(range(z.shape[0])) for l in range(z.shape[1]))  # a permutation per dim
    kl = torch.tensor(2.0, dtype=torch.float64)
    inputs = Inputs(kl, z, z, z, torch.tensor(0.0), {"discriminator": net}, draws)
    gamma = {"gamma": torch.tensor(40.0, dtype=torch.float64)}
    terms, _ = method.terms({"discriminator_probs": "exact"}, gamma, inputs, {})
    clipped, _ = method.terms({"discriminator_probs": "clipped"}, gamma, inputs, {})
    assert all(torch.equal(terms[k], clipped[k]) for k in ("tc", "regularizer"))  # the clip touches only D's loss
    logits = numpy_discriminator(net, mu)
    shuffled = np.stack([mu[perm[:, l], l] for l in range(mu.shape[1])], axis=1)
    logits_fake = numpy_discriminator(net, shuffled)

    def log_softmax(a):
        return a - np.log(np.exp(a).sum(axis=1, keepdims=True))

    tc = np.mean(logits[:, 0] - logits[:, 1])
    d_loss = -0.5 * np.mean(log_softmax(logits)[:, 0]) - 0.5 * np.mean(log_softmax(logits_fake)[:, 1])
    assert terms["tc"].item() == pytest.approx(tc, rel=1e-9)
    assert terms["regularizer"].item() == pytest.approx(2.0 + 40 * tc, rel=1e-9)
    assert terms["auxiliary"].item() == pytest.approx(d_loss, rel=1e-9)
    assert clipped["auxiliary"].item() == pytest.approx(d_loss, rel=1e-9)  # an unsure D: nothing clipped
