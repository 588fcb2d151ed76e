"""Locatello et al., ICML 2019, "Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations" (disentanglement_lib's ``unsupervised_study_v1``): its grid, six
methods × six values on seven datasets, trained and scored as the study did."""

from __future__ import annotations

from typing import Any

from benchbench.api import Study, studies

#: Locatello et al.'s six methods and their six values each (the study's Table 2 / configs).
LOCATELLO_SWEEPS = [
    ("beta_vae", {"beta": [1, 2, 4, 6, 8, 16]}),
    ("annealed_vae", {"c_max": [5, 10, 25, 50, 75, 100], "gamma": 1000, "iteration_threshold": 100_000}),
    ("factor_vae", {"gamma": [10, 20, 30, 40, 50, 100], "discriminator_probs": "clipped"}),
    ("dip_vae", {"variant": "i", "cov_estimate": "batch", "lambda_od": [1, 2, 5, 10, 20, 50]}),
    ("dip_vae", {"variant": "ii", "cov_estimate": "batch", "lambda_od": [1, 2, 5, 10, 20, 50]}),
    ("beta_tc_vae", {"beta": [1, 2, 4, 6, 8, 10]}),
]
#: The study's seven datasets (``sweep.py``): dSprites and its Color, Noisy and Scream variants
#: from the official file, Shapes3D, SmallNORB with its 4 factors, Cars3D.
LOCATELLO_DATASETS = [
    "dsprites",
    "color_dsprites_official",
    "noisy_dsprites_official",
    "scream_dsprites",
    "shapes3d",
    "smallnorb4",
    "cars3d",
]
#: The study's scores (``metric_configs/*.gin``): six with labels, and the label-free ones.
LOCATELLO_METRICS = [
    "beta_vae_score",
    "factor_vae_score",
    "mig",
    "dci",
    "modularity_explicitness",
    "sap",
    "downstream_task",
    "unsupervised",
]


#: disentanglement_lib's training setup for the study (``shared.gin``, ``architectures.py``,
#: ``train.py``): Bernoulli loss everywhere, TensorFlow's initial weights and Adam, every image.
LOCATELLO_TRAIN = {
    "arch": "conv",
    "latent_dim": 10,
    "steps": 300_000,
    "batch_size": 64,
    "lr": 1e-4,
    "likelihood": "bernoulli",
    "init": "tensorflow",
    "adam": "tensorflow",
    "train_images": "all",
}
#: FactorVAE's updates in the study: its two optimizers each advance the global step, so the
#: study's 300,000 steps are 150,000 updates of the VAE and of the discriminator.
LOCATELLO_FACTOR_VAE_STEPS = 150_000


def locatello2019_grid() -> dict[str, Any]:
    """disentanglement_lib's study (Locatello et al., ICML 2019, "Challenging Common Assumptions
    in the Unsupervised Learning of Disentangled Representations"): β-VAE, AnnealedVAE,
    FactorVAE, DIP-VAE-I (λ_d = 10 λ_od), DIP-VAE-II (λ_d = λ_od) and β-TCVAE, six values each,
    trained as the study trained them (:data:`LOCATELLO_TRAIN`; FactorVAE 150,000 updates with
    clipped discriminator probabilities), DIP-VAE's covariance from the minibatch, its six scores, its downstream tasks
    and its unsupervised ones at their default sizes (plus the reconstruction error), each on the
    posterior mean and on a sampled code, as the study scored them.

    Its seven datasets are the study's, dSprites and its variants from the official file: a run
    stops before training when a file is missing (``--download`` fetches dSprites; ``--datasets``
    picks others, and the rendered ``shapes2d`` can stand in for dSprites by name).  Differs
    from the study (docs/fidelity.md): 3 seeds per setting, not 50.
    """
    sweeps = []
    for method, hp in LOCATELLO_SWEEPS:
        sweep = {"datasets": list(LOCATELLO_DATASETS), "method": method, "hyperparameters": hp}
        if method == "factor_vae":
            sweep["train"] = {"steps": LOCATELLO_FACTOR_VAE_STEPS}
        sweeps.append(sweep)
    return {
        "name": "locatello2019",
        "description": "disentanglement_lib's study: 6 methods x 6 values, dSprites (+color, noisy, scream), 3D data",
        "seeds": 3,
        "train": dict(LOCATELLO_TRAIN),
        "metrics": {name: {} for name in [*LOCATELLO_METRICS, "reconstruction_error"]},
        "representations": ["mean", "sampled"],
        "sweep": sweeps,
    }


@studies.register("locatello2019")
class Locatello2019(Study):
    title = (
        "Locatello et al. (ICML 2019): Challenging Common Assumptions in the Unsupervised Learning "
        "of Disentangled Representations"
    )
    description = "disentanglement_lib's study: 6 methods × 6 values on dSprites and its variants, 3D data"
    grids = {"locatello2019": locatello2019_grid}
    protocol = LOCATELLO_TRAIN
