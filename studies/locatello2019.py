"""Locatello et al., ICML 2019, "Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations" (disentanglement_lib's ``unsupervised_study_v1``): its grid, six
methods × six values on seven datasets, trained and scored as the study did, and its analyses
(§4 of the paper) as sections, with its headline conclusions as claims judged on the run:

* the total correlation of the sampled representation against each method's regularization
  strength, and of the mean one (§4.1);
* how the unsupervised scores rank the models against the supervised metrics (§4.2);
* how the variance of each metric splits between methods, hyperparameters and seeds (§4.3);
* how often a configuration chosen by one metric, dataset and seed beats a random model on
  another seed, metric or dataset (§4.4, unsupervised model selection);
* the disentanglement metrics against downstream sample efficiency — accuracy at 100 labels over
  accuracy at 10,000 (§4.5);
* each metric on the mean against the sampled representation."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from benchbench.api import (
    NOT_SUPPORTED,
    NOT_TESTABLE,
    SIGNIFICANCE,
    SUPPORTED,
    Claim,
    Column,
    Section,
    Study,
    Table,
    models_for_trend,
    paired_rank_correlation,
    selection_transfer,
    shown_output,
    studies,
    title_of,
    trend,
    variance_split,
    verdict,
)

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


#: The supervised disentanglement scores of the study, as tables show them.
SUPERVISED = (
    "beta_vae_score.eval_accuracy",
    "factor_vae_score.eval_accuracy",
    "mig.mig",
    "dci.disentanglement",
    "modularity_explicitness.modularity",
    "sap.sap",
)
#: The unsupervised scores, each on the sampled and on the mean representation.
UNSUPERVISED = (
    "unsupervised@sampled.gaussian_total_correlation",
    "unsupervised.gaussian_total_correlation",
    "unsupervised@sampled.gaussian_wasserstein_correlation_norm",
    "unsupervised.gaussian_wasserstein_correlation_norm",
    "unsupervised@sampled.mutual_info_score",
    "unsupervised.mutual_info_score",
)
EFFICIENCY = (
    "downstream_task.logistic_regression:sample_efficiency",
    "downstream_task.boosted_trees:sample_efficiency",
)
#: Each method's regularization strength: its hyperparameter, and +1 where more is stronger
#: (AnnealedVAE's capacity c_max loosens it).
STRENGTH = {
    "beta_vae": ("beta", 1),
    "beta_tc_vae": ("beta", 1),
    "factor_vae": ("gamma", 1),
    "dip_vae": ("lambda_od", 1),
    "annealed_vae": ("c_max", -1),
}
#: The transfer claim holds where a configuration chosen on one dataset beats a random model on
#: another in at most this share of draws (chance is 0.5).
CHANCE_MARGIN = 0.6


def _models(report, dataset: str) -> pd.DataFrame:
    table = report.table
    return table[(table["dataset"] == dataset) & (table["status"] == "trained")]


def _present(frame: pd.DataFrame, outputs) -> list[str]:
    return [o for o in outputs if o in frame and frame[o].notna().any()]


def _words(output: str) -> str:
    return shown_output(output).words


def _section(report, title: str, caption: str, name: str, frame: pd.DataFrame, labels, columns) -> Section:
    """A table section: ``frame`` as CSV; ``labels`` (headers, rows) and ``columns`` as LaTeX and HTML."""
    section = Section(title, f"{caption} {report.options.protocol}".rstrip())
    if frame.empty:
        section.notes.append(f"{title}: the run has no values for it")
        return section
    headers, rows = labels
    report.save_table(section, name, frame, [Table(headers, rows, columns, [""] * len(rows))], name)
    return section


def regularization(report, dataset: str) -> pd.DataFrame:
    """Per method and total correlation (sampled, mean): Spearman's ρ against the method's
    regularization strength over its models, the one-sided p that it falls, and that p's floor."""
    models, rows = _models(report, dataset), []
    for method, (hp, sign) in STRENGTH.items():
        mine = models[models["method"] == method]
        for output in _present(mine, UNSUPERVISED[:2]) if f"hp.{hp}" in mine else []:
            rho, p, floor = trend(sign * mine[f"hp.{hp}"].astype(float), -mine[output].astype(float))
            n = int(mine[output].notna().sum())
            rows.append(
                {"dataset": dataset, "method": method, "output": output, "models": n, "rho": -rho, "p_falls": p,
                 "smallest_p": floor}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "method", "output", "models", "rho", "p_falls", "smallest_p"])


def variance(report, dataset: str) -> pd.DataFrame:
    models = _models(report, dataset)
    rows = [{"dataset": dataset, "output": o, **variance_split(models, o)} for o in _present(models, SUPERVISED)]
    columns = ["dataset", "output", "between_methods", "between_settings", "between_seeds", "models", "methods"]
    return pd.DataFrame(rows, columns=[*columns, "settings"])


def _rho_section(report, title: str, caption: str, name: str, frame: pd.DataFrame, headers) -> Section:
    rows = [[_words(a), _words(b), f"{n}"] for a, b, n in zip(frame["a"], frame["b"], frame["models"])]
    return _section(report, title, caption, name, frame, (headers, rows), [Column("ρ", list(frame["rho"]), None, 2)])


def dataset_sections(report, dataset: str) -> list[Section]:
    title, models = title_of(dataset), _models(report, dataset)
    tc = regularization(report, dataset)
    tc_rows = [
        [m, "sampled" if "@sampled" in o else "mean", f"{n}"] for m, o, n in zip(tc.method, tc.output, tc.models)
    ]
    found = [
        _section(
            report,
            f"Total correlation against regularization — {title}",
            "Per method, Spearman's ρ of the Gaussian total correlation against the method's regularization "
            "strength over its models (β, γ, λ_od; AnnealedVAE's c_max counted downwards), on the sampled and "
            "the mean representation (§4.1), and the one-sided permutation p that it falls.",
            f"tc_regularization_{dataset}",
            tc,
            (["Method", "Representation", "n"], tc_rows),
            [Column("ρ", list(tc.rho), None, 2), Column("p (falls)", list(tc.p_falls), None, 3)],
        )
    ]
    pairs = [(u, s) for u in _present(models, UNSUPERVISED) for s in SUPERVISED]
    found.append(
        _rho_section(
            report,
            f"Unsupervised scores against the supervised metrics — {title}",
            "Spearman's ρ over the models between each unsupervised score and each supervised disentanglement "
            "metric (§4.2): how well a score computed without labels ranks the models as one with labels does.",
            f"unsupervised_supervised_{dataset}",
            paired_rank_correlation(models, pairs).dropna(subset=["rho"]),
            ["Unsupervised score", "Supervised metric", "n"],
        )
    )
    shares = variance(report, dataset)
    found.append(
        _section(
            report,
            f"Method, hyperparameters or seed? — {title}",
            "The share of each metric's variance over the models that lies between methods, between the "
            "hyperparameter settings of a method, and between the seeds of a setting (the sums of squares of a "
            "nested analysis of variance; §4.3).",
            f"variance_split_{dataset}",
            shares,
            (["Metric", "n"], [[_words(o), f"{n}"] for o, n in zip(shares.output, shares.models)]),
            [
                Column(header, list(shares[key]), None, 2)
                for header, key in (
                    ("methods", "between_methods"),
                    ("settings", "between_settings"),
                    ("seeds", "between_seeds"),
                )
            ],  # fmt: skip
        )
    )
    found.append(
        _rho_section(
            report,
            f"Disentanglement against sample efficiency — {title}",
            "Spearman's ρ over the models between each disentanglement metric and the downstream sample "
            "efficiency, the test accuracy at 100 labels over that at 10,000 (§4.5).",
            f"sample_efficiency_{dataset}",
            paired_rank_correlation(models, [(s, e) for s in SUPERVISED for e in EFFICIENCY]).dropna(subset=["rho"]),
            ["Metric", "Efficiency of", "n"],
        )
    )
    found.append(
        _rho_section(
            report,
            f"Mean against sampled representation — {title}",
            "Spearman's ρ over the models between each metric on the mean and on the sampled representation.",
            f"mean_sampled_{dataset}",
            paired_rank_correlation(models, [(o, o.replace(".", "@sampled.", 1)) for o in SUPERVISED]).dropna(
                subset=["rho"]
            ),
            ["Metric (mean)", "Metric (sampled)", "n"],
        )
    )
    return found


def sections(report) -> list[Section]:
    found = [s for dataset in report.datasets for s in dataset_sections(report, dataset)]
    transfer = selection_transfer(report.table, dict.fromkeys(SUPERVISED, True))
    found.append(
        _section(
            report,
            "Unsupervised model selection across seeds, metrics and datasets",
            "The probability that the configuration chosen for the best score of one metric on one dataset, judged "
            "by one seed's model, beats a model drawn at random when judged by another seed's model, on the same or "
            "another metric and dataset (§4.4; 10,000 draws from seed 0, a tie counting a half; chance is 0.5).",
            "selection_transfer",
            transfer,
            (["Transfer", "draws"], [[t, f"{n}"] for t, n in zip(transfer.transfer, transfer.draws)]),
            [Column("P(beats random)", list(transfer.probability), None, 2)],
        )
    )
    return found + report.default_sections()


def _tc_claim(report, dataset: str) -> Claim:
    claim = "Stronger regularization lowers the total correlation of the sampled representation, for every method"
    tc = regularization(report, dataset)
    sampled = tc[tc.output.str.contains("@sampled") & tc.rho.notna()]
    if sampled.empty:
        why = (
            "no sampled total correlation over two or more values of a method's regularization: the grid needs "
            'the unsupervised metric and representations = ["mean", "sampled"]'
        )
        return Claim(dataset, claim, "§4.1", NOT_TESTABLE, why)
    parts = zip(sampled.method, sampled.rho, sampled.models, sampled.p_falls)
    evidence = "; ".join(f"{m}: ρ = {r:.2f} over {n} models, p = {p:.2g}" for m, r, n, p in parts)
    holds = bool((sampled.rho < 0).all())
    needs = f"each method's models at {models_for_trend(SIGNIFICANCE)} or more regularization strengths"
    judged = verdict(holds, sampled.p_falls.max(), sampled.smallest_p.max(), evidence, needs)
    return Claim(dataset, claim, "§4.1", *judged)


def _variance_claim(report, dataset: str) -> Claim:
    claim = (
        "Hyperparameters and seeds matter more than the method: under half of each metric's variance is between methods"
    )
    shares = variance(report, dataset)
    if shares.empty or not ((shares.methods >= 2) & (shares.settings > shares.methods)).all():
        why = "needs two or more methods, each with two or more hyperparameter settings, and seeds"
        return Claim(dataset, claim, "§4.3", NOT_TESTABLE, why)
    evidence = "; ".join(f"{_words(o)}: {b:.0%} between methods" for o, b in zip(shares.output, shares.between_methods))
    return Claim(dataset, claim, "§4.3", SUPPORTED if (shares.between_methods < 0.5).all() else NOT_SUPPORTED, evidence)


def _transfer_claim(report) -> Claim:
    claim = "A configuration chosen on one dataset is no better than chance on another"
    transfer = selection_transfer(report.table, dict.fromkeys(SUPERVISED, True))
    by = dict(zip(transfer.transfer, transfer.probability))
    other = by["same metric, other dataset"]
    if math.isnan(other):
        return Claim("every dataset", claim, "§4.4", NOT_TESTABLE, "needs two or more datasets and seeds")
    evidence = ", ".join(f"{k}: {v:.2f}" for k, v in by.items() if not math.isnan(v))
    return Claim("every dataset", claim, "§4.4", SUPPORTED if other <= CHANCE_MARGIN else NOT_SUPPORTED, evidence)


def claims(report) -> list[Claim]:
    found = [c for d in report.datasets for c in (_tc_claim(report, d), _variance_claim(report, d))]
    return [*found, _transfer_claim(report)]


@studies.register("locatello2019")
class Locatello2019(Study):
    title = (
        "Locatello et al. (ICML 2019): Challenging Common Assumptions in the Unsupervised Learning "
        "of Disentangled Representations"
    )
    description = "disentanglement_lib's study: 6 methods × 6 values on dSprites and its variants, 3D data"
    grids = {"locatello2019": locatello2019_grid}
    protocol = LOCATELLO_TRAIN
    select_by = "factor_vae_score.eval_accuracy"
    metric_order = tuple(dict.fromkeys(o.partition(".")[0] for o in SUPERVISED))
    dataset_order = tuple(LOCATELLO_DATASETS)
    claims_rule = (
        "A trend is supported where its Spearman ρ goes the claimed way for every method and its one-sided "
        f"permutation p is below {SIGNIFICANCE:g}, and not testable where the run's sizes could not reach that p. "
        "The variance claim is supported where less than half of every metric's variance lies between methods; "
        f"the transfer claim where a configuration chosen on one dataset beats a random model on another in at "
        f"most {CHANCE_MARGIN:.0%} of draws."
    )

    def sections(self, report) -> list[Section]:
        return sections(report)

    def claims(self, report) -> list[Claim]:
        return claims(report)
