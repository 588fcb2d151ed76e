"""Built-in metric plugins; importing this package registers them."""

from benchbench.metrics import (  # noqa: F401
    attribute_accuracy,
    beta_vae_score,
    dci,
    dci_es,
    downstream_task,
    factor_vae_score,
    fairness,
    infomec,
    irs,
    latent_correlation,
    mcc,
    mig,
    modularity_explicitness,
    reconstruction_error,
    sap,
    udr,
    unsupervised,
)
