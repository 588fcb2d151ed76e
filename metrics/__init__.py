"""Built-in metric plugins; importing this package registers them."""

from benchbench.metrics import (  # noqa: F401
    attribute_accuracy,
    beta_vae_score,
    dci,
    factor_vae_score,
    fairness,
    irs,
    latent_correlation,
    mcc,
    mig,
    modularity_explicitness,
    reconstruction_error,
    sap,
    unsupervised,
)
