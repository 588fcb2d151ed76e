"""``vae``: the plain VAE (Kingma & Welling): reconstruction + KL(q(z|x) ‖ N(0, I))."""

from benchbench.api import Method, methods


@methods.register("vae")
class VAE(Method):
    """Variational autoencoder; the ELBO of the seed's Eq. 1."""

    title = "VAE"
    description = "VAE: reconstruction + KL to N(0, I) (seed Eq. 1)"
