"""Built-in method plugins; importing this package registers them."""

from benchbench.methods import annealed_vae, beta_tc_vae, beta_vae, dip_vae, factor_vae, vae, weak_vae  # noqa: F401
