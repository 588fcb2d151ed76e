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
    metric_agreement,
    models_for_trend,
    paired_rank_correlation,
    selection_transfer,
    shown_output,
    studies,
    title_of,
    trend,
    two_sided_trend,
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


def _section(report, title: str, caption: str, name: str, frame: pd.DataFrame, labels, columns, image=None) -> Section:
    """A table section: ``frame`` as CSV; ``labels`` (headers, rows) and ``columns`` as LaTeX and
    HTML; ``image`` (a figure of the same numbers) under it."""
    section = Section(title, f"{caption} {report.options.protocol}".rstrip())
    if frame.empty:
        section.notes.append(f"{title}: the run has no values for it")
        return section
    headers, rows = labels
    report.save_table(section, name, frame, [Table(headers, rows, columns, [""] * len(rows))], name)
    report.add_images(section, [image] if image else [])
    return section


def regularization(report, dataset: str) -> pd.DataFrame:
    """Per method and total correlation (sampled, mean): Spearman's ρ against the method's
    regularization strength over its models, the one-sided p that it falls, and that p's floor."""

    def compute() -> pd.DataFrame:
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

    return report.once(("regularization", dataset), compute)


def strengths(report, dataset: str) -> pd.DataFrame:
    """The dataset's trained models with ``strength``: the rank of their setting among their
    method's (1 the weakest regularization), so every method's sweep shares one axis."""
    models = _models(report, dataset).copy()
    models["strength"] = float("nan")
    for method, (hp, sign) in STRENGTH.items():
        mine = models["method"] == method
        if f"hp.{hp}" in models and mine.any():
            models.loc[mine, "strength"] = (sign * models.loc[mine, f"hp.{hp}"].astype(float)).rank(method="dense")
    return models


def variance(report, dataset: str) -> pd.DataFrame:
    def compute() -> pd.DataFrame:
        models = _models(report, dataset)
        rows = [{"dataset": dataset, "output": o, **variance_split(models, o)} for o in _present(models, SUPERVISED)]
        columns = ["dataset", "output", "between_methods", "between_settings", "between_seeds", "models", "methods"]
        return pd.DataFrame(rows, columns=[*columns, "settings"])

    return report.once(("variance", dataset), compute)


def transfer(report) -> pd.DataFrame:
    return report.once("transfer", lambda: selection_transfer(report.table, dict.fromkeys(SUPERVISED, True)))


def _matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """A paired ρ table (``a``, ``b``, ``rho``) as a matrix, rows and columns in their first order."""
    matrix = frame.pivot(index="a", columns="b", values="rho")
    return matrix.reindex(index=list(dict.fromkeys(frame["a"])), columns=list(dict.fromkeys(frame["b"])))


def _rho_section(report, title: str, caption: str, name: str, frame: pd.DataFrame, headers, legend: str) -> Section:
    rows = [[_words(a), _words(b), f"{n}"] for a, b, n in zip(frame["a"], frame["b"], frame["models"])]
    image = report.heatmap(name, _matrix(frame), title, legend) if not frame.empty else None
    columns = [Column("ρ", list(frame["rho"]), None, 2)]
    return _section(report, title, caption, name, frame, (headers, rows), columns, image)


def _agreement_section(report, dataset: str, title: str) -> Section:
    models = _models(report, dataset)
    outputs = _present(models, SUPERVISED)
    matrix = metric_agreement(models, outputs).dropna(how="all").dropna(axis=1, how="all")
    name = f"metric_agreement_{dataset}"
    heading = f"Do the metrics agree? — {title}"
    caption = (
        "Spearman's ρ over the models between every pair of supervised disentanglement metrics (§4.2: the "
        "metrics mostly agree, modularity least)."
    )
    frame = matrix.reset_index(names="metric")
    columns = [Column(_words(o), list(matrix[o]), None, 2) for o in matrix.columns]
    image = report.heatmap(name, matrix, heading, "Spearman ρ over the models")
    rows = [[_words(o)] for o in matrix.index]
    return _section(report, heading, caption, name, frame if not matrix.empty else pd.DataFrame(), (["Metric"], rows),
                    columns, image)  # fmt: skip


def _distribution_section(report, dataset: str, title: str) -> Section:
    heading = f"Which method? — {title}"
    section = Section(
        heading,
        "Each supervised metric over every trained model of each method variant (all its settings and seeds), "
        f"each model a point (§4.3: no method is consistently better; its settings and seeds spread its models "
        f"as far). {report.options.protocol}".rstrip(),
    )
    outputs = _present(_models(report, dataset), SUPERVISED)
    image = report.distributions(f"distributions_{dataset}", dataset, outputs, heading) if outputs else None
    report.add_images(section, [image] if image else [])
    if not outputs:
        section.notes.append(f"{heading}: the run has no values for it")
    return section


def dataset_sections(report, dataset: str) -> list[Section]:
    title, models = title_of(dataset), _models(report, dataset)
    tc = regularization(report, dataset)
    tc_rows = [
        [m, "sampled" if "@sampled" in o else "mean", f"{n}"] for m, o, n in zip(tc.method, tc.output, tc.models)
    ]
    tc_title = f"Total correlation against regularization — {title}"
    tc_image = report.lines(
        f"tc_regularization_{dataset}",
        strengths(report, dataset),
        "strength",
        {UNSUPERVISED[0]: "sampled representation", UNSUPERVISED[1]: "mean representation"},
        tc_title,
        ("regularization strength (1: a method's weakest setting)", "Gaussian total correlation"),
    )
    found = [
        _section(
            report,
            tc_title,
            "Per method, Spearman's ρ of the Gaussian total correlation against the method's regularization "
            "strength over its models (β, γ, λ_od; AnnealedVAE's c_max counted downwards), on the sampled and "
            "the mean representation (§4.1), and the one-sided permutation p that it falls; the figure plots "
            "each method's settings in order of strength, each model a point.",
            f"tc_regularization_{dataset}",
            tc,
            (["Method", "Representation", "n"], tc_rows),
            [Column("ρ", list(tc.rho), None, 2), Column("p (falls)", list(tc.p_falls), None, 3)],
            tc_image,
        ),
        _agreement_section(report, dataset, title),
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
            "Spearman ρ over the models",
        )
    )
    found.append(_distribution_section(report, dataset, title))
    shares = variance(report, dataset)
    split = ("methods", "between_methods"), ("settings", "between_settings"), ("seeds", "between_seeds")
    share_matrix = shares.set_index("output")[[key for _, key in split]].rename(columns=dict((k, h) for h, k in split))
    share_title = f"Method, hyperparameters or seed? — {title}"
    found.append(
        _section(
            report,
            share_title,
            "The share of each metric's variance over the models that lies between methods, between the "
            "hyperparameter settings of a method, and between the seeds of a setting (the sums of squares of a "
            "nested analysis of variance; §4.3).",
            f"variance_split_{dataset}",
            shares,
            (["Metric", "n"], [[_words(o), f"{n}"] for o, n in zip(shares.output, shares.models)]),
            [Column(header, list(shares[key]), None, 2) for header, key in split],
            report.heatmap(f"variance_split_{dataset}", share_matrix, share_title, "share of the variance", False),
        )
    )
    found.append(
        _rho_section(
            report,
            f"Disentanglement against sample efficiency — {title}",
            "Spearman's ρ over the models between each disentanglement metric and the downstream sample "
            "efficiency, the test accuracy at 100 labels over that at 10,000 (§4.5).",
            f"sample_efficiency_{dataset}",
            efficiency(report, dataset),
            ["Metric", "Efficiency of", "n"],
            "Spearman ρ over the models",
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
            "Spearman ρ over the models",
        )
    )
    return found


def efficiency(report, dataset: str) -> pd.DataFrame:
    """Spearman's ρ over the dataset's models between each supervised metric and each downstream
    sample efficiency."""
    pairs = [(s, e) for s in SUPERVISED for e in EFFICIENCY]
    return report.once(
        ("efficiency", dataset),
        lambda: paired_rank_correlation(_models(report, dataset), pairs).dropna(subset=["rho"]),
    )


def sections(report) -> list[Section]:
    found = [s for dataset in report.datasets for s in dataset_sections(report, dataset)]
    moved = transfer(report)
    title = "Unsupervised model selection across seeds, metrics and datasets"
    grid = moved.assign(
        metric=[t.split(", ")[0] for t in moved.transfer], dataset=[t.split(", ")[1] for t in moved.transfer]
    ).pivot(index="metric", columns="dataset", values="probability")
    grid = grid.reindex(index=["same metric", "other metric"], columns=["same dataset", "other dataset"])
    found.append(
        _section(
            report,
            title,
            "The probability that the configuration chosen for the best score of one metric on one dataset, judged "
            "by one seed's model, beats a model drawn at random when judged by another seed's model, on the same or "
            "another metric and dataset (§4.4; 10,000 draws from seed 0, a tie counting a half; chance is 0.5).",
            "selection_transfer",
            moved,
            (["Transfer", "draws"], [[t, f"{n}"] for t, n in zip(moved.transfer, moved.draws)]),
            [Column("P(beats random)", list(moved.probability), None, 2)],
            report.heatmap("selection_transfer", grid, title, "P(beats a random model)", False),
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


def _transfer_claim(report, other_metric: bool) -> Claim:
    """A configuration chosen on one dataset (or by one metric) is no better than chance on
    another: supported where it beats a random model there in at most :data:`CHANCE_MARGIN`."""
    claim = (
        "A configuration chosen by one metric is no better than chance by another"
        if other_metric
        else "A configuration chosen on one dataset is no better than chance on another"
    )
    moved = transfer(report)
    by = dict(zip(moved.transfer, moved.probability))
    chance = by["other metric, same dataset" if other_metric else "same metric, other dataset"]
    if math.isnan(chance):
        needs = "two or more metrics and seeds" if other_metric else "two or more datasets and seeds"
        return Claim("every dataset", claim, "§4.4", NOT_TESTABLE, f"needs {needs}")
    evidence = ", ".join(f"{k}: {v:.2f}" for k, v in by.items() if not math.isnan(v))
    return Claim("every dataset", claim, "§4.4", SUPPORTED if chance <= CHANCE_MARGIN else NOT_SUPPORTED, evidence)


def _without_labels_claim(report, dataset: str) -> Claim:
    """§4.2/§4.4: no unsupervised score ranks the models significantly alike (one sign) with every
    supervised metric — were one to, it would pick good models without labels."""
    claim = "Without labels good models cannot be found: no unsupervised score ranks the models as every metric does"
    models = _models(report, dataset)
    scores, supervised = _present(models, UNSUPERVISED), _present(models, SUPERVISED)
    tests = {u: [two_sided_trend(models[u].astype(float), models[m].astype(float)) for m in supervised] for u in scores}
    floors = [f for found in tests.values() for _, _, f in found if not math.isnan(f)]
    if not floors or not min(floors) < SIGNIFICANCE:
        needs = (
            f"{models_for_trend(SIGNIFICANCE / 2)} or more models with both (two-sided p < {SIGNIFICANCE:g} "
            f"needs {models_for_trend(SIGNIFICANCE / 2)})"
            if scores and supervised
            else ("the unsupervised metric and the supervised ones in the grid")
        )
        return Claim(dataset, claim, "§4.2, §4.4", NOT_TESTABLE, f"needs {needs}")
    agreeing = [
        u for u, found in tests.items()
        if all(p < SIGNIFICANCE for _, p, _ in found) and len({math.copysign(1, r) for r, _, _ in found}) == 1
    ]  # fmt: skip
    evidence = "; ".join(
        f"{_words(u)}: {sum(p < SIGNIFICANCE for _, p, _ in found)} of {len(found)} metrics significant "
        f"(ρ {min(r for r, _, _ in found):.2f} to {max(r for r, _, _ in found):.2f})"
        for u, found in tests.items()
    )
    if agreeing:
        evidence += f"; ranking the models as every metric does: {', '.join(_words(u) for u in agreeing)}"
    return Claim(dataset, claim, "§4.2, §4.4", NOT_SUPPORTED if agreeing else SUPPORTED, evidence)


def _efficiency_claim(report, dataset: str) -> Claim:
    """§4.5: no disentanglement metric rises significantly with downstream sample efficiency."""
    claim = "More disentanglement does not mean better downstream sample efficiency"
    models = _models(report, dataset)
    pairs = [(m, e) for m in _present(models, SUPERVISED) for e in _present(models, EFFICIENCY)]
    tests = {(m, e): trend(models[m].astype(float), models[e].astype(float)) for m, e in pairs}
    floors = [f for _, _, f in tests.values() if not math.isnan(f)]
    if not floors or not min(floors) < SIGNIFICANCE:
        needs = (
            f"{models_for_trend(SIGNIFICANCE)} or more models with both"
            if pairs
            else ("the downstream_task metric (its sample efficiency) and the supervised ones in the grid")
        )
        return Claim(dataset, claim, "§4.5", NOT_TESTABLE, f"needs {needs}")
    rising = [(m, e) for (m, e), (_, p, _) in tests.items() if p < SIGNIFICANCE]
    evidence = "; ".join(
        f"{_words(m)} with {_words(e)}: ρ = {r:.2f}, p (rises) = {p:.2g}"
        for (m, e), (r, p, _) in tests.items()
        if not math.isnan(r)
    )
    return Claim(dataset, claim, "§4.5", NOT_SUPPORTED if rising else SUPPORTED, evidence)


def claims(report) -> list[Claim]:
    per_dataset = (_tc_claim, _without_labels_claim, _variance_claim, _efficiency_claim)
    found = [claim(report, d) for d in report.datasets for claim in per_dataset]
    return [*found, _transfer_claim(report, False), _transfer_claim(report, True)]


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
        f"a transfer claim where a configuration chosen on one dataset (by one metric) beats a random model on "
        f"another (by another) in at most {CHANCE_MARGIN:.0%} of draws. The claims that something is not so "
        f"(no unsupervised score ranks the models as every metric does: two-sided permutation p of each pair, "
        f"one sign; no metric rises with sample efficiency: one-sided) are supported where the run could have "
        f"shown it so (p < {SIGNIFICANCE:g} possible) and did not."
    )

    def sections(self, report) -> list[Section]:
        return sections(report)

    def claims(self, report) -> list[Claim]:
        return claims(report)
