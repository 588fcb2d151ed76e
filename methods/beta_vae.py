"""``beta_vae``: Higgins et al.'s β-VAE, the KL term weighted by β (seed Eq. 7)."""

from benchbench.api import Method, methods


@methods.register("beta_vae")
class BetaVAE(Method):
    """β-VAE: reconstruction + β·KL(q(z|x) ‖ N(0, I))."""

    title = "β-VAE"
    description = "beta-VAE: reconstruction + beta * KL (seed Eq. 7)"
    hyperparameters = {"beta": 4.0}
    bounds = {"beta": (0.0, float("inf"))}

    def terms(self, static, hp, inputs, state):
        return {"regularizer": hp["beta"] * inputs.kl}, state
