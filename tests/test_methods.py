"""Regularisers against independent float64 formulas written out element by element."""

import numpy as np
import pytest
import torch

from benchbench.registry import BenchbenchError, methods


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
    return method.regularizer(static, numeric, torch.tensor(kl, dtype=torch.float64), mu, logvar, mu, state)


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
    with pytest.raises(BenchbenchError, match="must be a number"):
        methods.get("beta_vae")().resolve({"beta": "big"})


def test_kl_and_reconstruction_match_closed_forms():
    from benchbench.arch import reconstruction_nll
    from benchbench.trainer import _kl_to_standard_normal

    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    kl = np.mean([sum(0.5 * (m**2 + np.exp(v) - v - 1) for m, v in zip(mr, vr)) for mr, vr in zip(mu, logvar)])
    assert _kl_to_standard_normal(torch.tensor(mu), torch.tensor(logvar)).item() == pytest.approx(kl, rel=1e-12)
    x = (rng.random((2, 1, 4, 4)) > 0.5).astype(np.float64)
    logits = rng.normal(size=x.shape)
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(2, -1).sum(1)
    np.testing.assert_allclose(reconstruction_nll("bernoulli", torch.tensor(logits), torch.tensor(x)).numpy(), bce)
    sq = ((p - x) ** 2).reshape(2, -1).sum(1)
    np.testing.assert_allclose(reconstruction_nll("gaussian", torch.tensor(logits), torch.tensor(x)).numpy(), sq)
