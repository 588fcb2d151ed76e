"""A third-party method in one file: VAE plus an L1 penalty on the posterior means.

benchbench list methods --plugin examples/l1_vae.py
benchbench run --plugin examples/l1_vae.py --grid my.toml   # with method = "l1_vae"
"""

from benchbench.api import Method, methods


@methods.register("l1_vae")
class L1VAE(Method):
    """VAE + gamma · E|μ|₁: sparse posterior means."""

    title = "L1-VAE"  # how tables and figures name it (else "l1_vae")
    description = "VAE + gamma * mean L1 norm of mu"
    hyperparameters = {"gamma": 1.0}
    bounds = {"gamma": (0.0, float("inf"))}

    def terms(self, static, hp, inputs, state):
        l1 = inputs.mu.abs().sum(dim=1).mean()
        return {"regularizer": inputs.kl + hp["gamma"] * l1, "l1": l1}, state
