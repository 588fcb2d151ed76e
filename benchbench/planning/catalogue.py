"""The built-in grids: the paper's sweep, disentanglement_lib's study, and the small ones
(``quick``, ``smoke``) — written in the grid schema of :mod:`benchbench.planning.grids`, which validates
them like any grid file.  ``benchbench list grids`` shows them."""

from __future__ import annotations

from typing import Any

PAPER_BETAS = [1, 2, 4, 8, 16, 25, 32, 64, 100, 128, 200, 256]
PAPER_METRICS = ["beta_vae_score", "reconstruction_error", "attribute_accuracy", "latent_correlation"]
STANDARD_METRICS = ["factor_vae_score", "mig", "dci", "sap", "modularity_explicitness"]
PAPER_LAMBDA_OD = [1, 2, 5, 10, 20, 50]


#: β values the seed shows for 2D Shapes beyond its sweep: 60 (Table 1) and 20 (Figure 11).
PAPER_SHAPES_BETAS = {20, 60}


def paper_grid() -> dict[str, Any]:
    """The seed's sweep (Kumar et al., §3 "Hyperparameters"), on 2D Shapes, CelebA and 3D Chairs.

    What the seed states: β ∈ {1, 2, 4, 8, 16, 25, 32, 64, 100, 128, 200, 256} (β = 1 is the
    VAE), plus β = 60 (Table 1) and β = 20 (Figure 11) for 2D Shapes; DIP-VAE-I with λ_od ∈
    {1, 2, 5, 10, 20, 50}, λ_d = 10·λ_od and the running covariance estimate (§3); Higgins et
    al.'s latent sizes (10 for 2D Shapes, 32 for CelebA and Chairs); test-set reconstruction
    errors, so training keeps the test split out.  What it leaves open, and the choice made:
    training length, batch and optimiser from disentanglement_lib's protocol (300,000 steps,
    batch 64, Adam lr 1e-4); disentanglement_lib's conv architecture; benchbench's own
    initialisation and Adam (PyTorch's) and each dataset's likelihood (Bernoulli for the binary
    2D Shapes and Chairs, Gaussian for CelebA), since the seed's code is not the study's.  Three
    seeds per setting, so tables can show mean ± std (docs/fidelity.md).
    """
    sweeps = []
    for dataset, latent in (("shapes2d", 10), ("celeba", 32), ("chairs", 32)):
        betas = sorted(set(PAPER_BETAS) - {1} | (PAPER_SHAPES_BETAS if dataset == "shapes2d" else set()))
        common = {"datasets": [dataset], "train": {"latent_dim": latent}}
        sweeps += [
            {**common, "method": "vae"},
            {**common, "method": "beta_vae", "hyperparameters": {"beta": betas}},
            {
                **common,
                "method": "dip_vae",
                "hyperparameters": {"variant": "i", "lambda_od": PAPER_LAMBDA_OD, "cov_estimate": "running"},
            },
        ]
    return {
        "name": "paper",
        "description": "Kumar et al.'s full sweep: 2D Shapes, CelebA, 3D Chairs; 300k steps",
        "seeds": 3,
        "train": {"arch": "conv", "steps": 300_000, "batch_size": 64, "lr": 1e-4},
        "metrics": {name: {} for name in PAPER_METRICS + STANDARD_METRICS},
        "sweep": sweeps,
    }


def quick_grid() -> dict[str, Any]:
    """VAE, β-VAE (β = 4) and DIP-VAE-I (λ_od = 10) on shapes2d: a first look that trains and
    evaluates on a 2-core CPU in under ten minutes (short training; every ground-truth metric with
    its ``fast`` sample sizes)."""
    return {
        "name": "quick",
        "description": "VAE, beta-VAE, DIP-VAE on shapes2d; minutes on a CPU",
        "seeds": 1,
        "train": {"arch": "conv", "latent_dim": 10, "steps": 3000, "batch_size": 64, "lr": 5e-4},
        "metric_profile": "fast",
        "metrics": {name: {} for name in PAPER_METRICS + STANDARD_METRICS if name != "attribute_accuracy"},
        "sweep": [
            {"datasets": ["shapes2d"], "method": "vae"},
            {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": 4}},
            {"datasets": ["shapes2d"], "method": "dip_vae", "hyperparameters": {"lambda_od": 10}},
        ],
    }


def smoke_grid() -> dict[str, Any]:
    """Seconds: a handful of steps of each of the paper's methods, for tests and installation checks.
    Evaluates the cheap metrics only: DCI and SAP fit a classifier per class, seconds even here."""
    return {
        "name": "smoke",
        "description": "a few steps of each method on shapes2d, for tests",
        "seeds": 1,
        "train": {"arch": "conv", "latent_dim": 4, "steps": 6, "batch_size": 8, "lr": 1e-3},
        "metrics": {
            "reconstruction_error": {"num_images": 64},
            "beta_vae_score": {"batch_size": 4, "num_train": 40, "num_eval": 20},
            "factor_vae_score": {"batch_size": 8, "num_train": 40, "num_eval": 20, "num_variance_estimate": 100},
            "mig": {"num_train": 200},
            "modularity_explicitness": {"num_train": 200, "num_test": 100},
            "latent_correlation": {"num_images": 200},
        },
        "sweep": [
            {"datasets": ["shapes2d"], "method": "vae"},
            {"datasets": ["shapes2d"], "method": "beta_vae", "hyperparameters": {"beta": [2, 8]}},
            {"datasets": ["shapes2d"], "method": "dip_vae", "hyperparameters": {"lambda_od": 5}},
        ],
    }


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


BUILTIN_GRIDS = {"paper": paper_grid, "quick": quick_grid, "smoke": smoke_grid, "locatello2019": locatello2019_grid}
