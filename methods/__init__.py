"""Built-in method plugins; importing this package registers them."""

from benchbench.methods import beta_vae, dip_vae, vae  # noqa: F401
