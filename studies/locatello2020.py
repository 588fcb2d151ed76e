"""Locatello et al., ICML 2020, "Weakly-Supervised Disentanglement Without Compromises": weakly
supervised VAEs trained on pairs of observations that share all but some factors
(``methods/weak_vae.py``), against an unsupervised β-VAE on the same datasets, trained and scored
as the unsupervised study (``locatello2019``) trains and scores.

Its report, per dataset: each supervised disentanglement metric and the downstream accuracy with
few labels, the weakly supervised models against the unsupervised ones — P(a weak model scores
better) with its exact permutation test — and every metric's models per method; its claims, the
paper's two headline conclusions judged on the run: weak supervision disentangles better than
the unsupervised methods, and its representations are more useful downstream with few labels.

disentanglement_lib ships no sweep for this study (its ``bin/dlib_reproduce_weakly_supervised``
reads configuration folders it does not include): the grid's values are the paper's, as
``docs/fidelity.md`` says point by point, not checked against a configuration file."""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchbench.api import (
    NOT_TESTABLE,
    SIGNIFICANCE,
    Claim,
    Column,
    Section,
    Study,
    Table,
    seeds_to_compare,
    shown_output,
    smallest_p,
    studies,
    superiority,
    title_of,
    verdict,
)
from benchbench.studies.locatello2019 import LOCATELLO_DATASETS, LOCATELLO_TRAIN, SUPERVISED

#: The adaptive methods the paper proposes, and the unsupervised one they are compared with.
WEAK_METHODS = ("group_vae_argmax", "mlvae_argmax")
UNSUPERVISED_METHODS = ("beta_vae",)
BETAS = [1, 2, 4, 6, 8, 16]
#: How many factors a pair redraws: one, or a random number (the paper's two settings).
K_SETTINGS = [1, "random"]
#: Where the claims stand in the paper: its experiments (section numbers not yet checked against its text).
SOURCE = "the paper's experiments"
#: Downstream usefulness with few labels: the test accuracy at 100 labels.
FEW_LABELS = (
    "downstream_task.logistic_regression:100:mean_test_accuracy",
    "downstream_task.boosted_trees:100:mean_test_accuracy",
)


def locatello2020_grid() -> dict[str, Any]:
    """The weak study: Ada-GVAE and Ada-ML-VAE at β ∈ {1, 2, 4, 6, 8, 16} and k ∈ {1, random},
    beside a β-VAE at the same βs (the unsupervised comparison in the same run), on the
    unsupervised study's datasets, trained and scored as that study (3 seeds, not the paper's)."""
    sweeps = [
        {"datasets": list(LOCATELLO_DATASETS), "method": m, "hyperparameters": {"beta": BETAS, "k": K_SETTINGS}}
        for m in WEAK_METHODS
    ]
    sweeps += [
        {"datasets": list(LOCATELLO_DATASETS), "method": m, "hyperparameters": {"beta": BETAS}}
        for m in UNSUPERVISED_METHODS
    ]
    metrics = ["beta_vae_score", "factor_vae_score", "mig", "dci", "modularity_explicitness", "sap"]
    return {
        "name": "locatello2020",
        "description": "weak supervision: Ada-GVAE, Ada-ML-VAE on pairs (k = 1, random) beside a beta-VAE",
        "seeds": 3,
        "train": dict(LOCATELLO_TRAIN),
        "metrics": {name: {} for name in [*metrics, "downstream_task", "reconstruction_error"]},
        "sweep": sweeps,
    }


def _sides(report, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset's trained weakly supervised models and its unsupervised ones."""
    table = report.table
    models = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    weak = models["method"].isin(WEAK_METHODS) | models["method"].str.endswith("_labels")
    return models[weak], models[~weak]


def comparison(report, dataset: str, outputs) -> pd.DataFrame:
    """Per output: the weak and the unsupervised models' means and counts, P(a weak model scores
    better) and the two-sided permutation p."""

    def compute() -> pd.DataFrame:
        weak, other = _sides(report, dataset)
        rows = []
        for output in (o for o in outputs if o in report.table and report.table[o].notna().any()):
            a, b = weak[output].dropna().astype(float), other[output].dropna().astype(float)
            p_better, p = superiority(a, b)
            rows.append(
                {"dataset": dataset, "output": output, "weak_mean": a.mean(), "weak_models": len(a),
                 "unsupervised_mean": b.mean(), "unsupervised_models": len(b), "p_weak_better": p_better, "p": p}
            )  # fmt: skip
        columns = ["dataset", "output", "weak_mean", "weak_models", "unsupervised_mean", "unsupervised_models"]
        return pd.DataFrame(rows, columns=[*columns, "p_weak_better", "p"])

    return report.once(("weak", dataset, tuple(outputs)), compute)


def _words(output: str) -> str:
    return shown_output(output).words


def _table_section(report, dataset: str, title: str, caption: str, outputs, name: str) -> Section:
    frame = comparison(report, dataset, outputs)
    section = Section(title, f"{caption} {report.options.protocol}".rstrip())
    if frame.empty:
        section.notes.append(f"{title}: the run has no values for it")
        return section
    rows = [[_words(o), f"{w}", f"{u}"] for o, w, u in zip(frame.output, frame.weak_models, frame.unsupervised_models)]
    columns = [
        Column("weak, mean", list(frame.weak_mean), None, 3),
        Column("unsupervised, mean", list(frame.unsupervised_mean), None, 3),
        Column("P(weak better)", list(frame.p_weak_better), None, 2),
        Column("p", list(frame.p), None, 3),
    ]
    table = Table(["Output", "n weak", "n unsup."], rows, columns, [""] * len(rows))
    report.save_table(section, name, frame, [table], name)
    return section


def sections(report) -> list[Section]:
    found = []
    for dataset in report.datasets:
        title = title_of(dataset)
        found.append(
            _table_section(
                report,
                dataset,
                f"Weak supervision against none — {title}",
                "Each supervised disentanglement metric over the weakly supervised models (Ada-GVAE, Ada-ML-VAE and "
                "the label variants, every β, k and seed) and over the unsupervised ones: their means, P(a weak model "
                "scores better than an unsupervised one) and the two-sided exact permutation p.",
                SUPERVISED,
                f"weak_disentanglement_{dataset}",
            )
        )
        found.append(
            _table_section(
                report,
                dataset,
                f"Downstream with few labels — {title}",
                "The downstream test accuracy with 100 labels (logistic regression, boosted trees) over the weakly "
                "supervised and the unsupervised models, compared as above.",
                FEW_LABELS,
                f"weak_downstream_{dataset}",
            )
        )
        heading = f"Each metric per method — {title}"
        section = Section(
            heading, f"Every trained model of each method variant, each a point. {report.options.protocol}"
        )
        image = report.distributions(f"weak_distributions_{dataset}", dataset, list(SUPERVISED), heading)
        report.add_images(section, [image] if image else [])
        found.append(section)
    return found + report.default_sections()


def _better_claim(report, dataset: str, claim: str, source: str, outputs) -> Claim:
    frame = comparison(report, dataset, outputs).dropna(subset=["p"])
    if frame.empty or (frame.weak_models == 0).all() or (frame.unsupervised_models == 0).all():
        why = (
            "needs weakly supervised and unsupervised models with these outputs in the same run (the grid "
            f"locatello2020 trains both): {', '.join(_words(o) for o in outputs)}"
        )
        return Claim(dataset, claim, source, NOT_TESTABLE, why)
    parts = zip(frame.output, frame.p_weak_better, frame.p, frame.weak_models, frame.unsupervised_models)
    evidence = "; ".join(f"{_words(o)}: P(weak better) = {b:.2f}, p = {p:.2g} ({w} vs {u})" for o, b, p, w, u in parts)
    holds = bool((frame.p_weak_better > 0.5).all())
    floor = max(smallest_p(int(w), int(u)) for w, u in zip(frame.weak_models, frame.unsupervised_models))
    needs = f"{seeds_to_compare(SIGNIFICANCE)} or more models on each side"
    return Claim(dataset, claim, source, *verdict(holds, float(frame.p.max()), floor, evidence, needs))


def claims(report) -> list[Claim]:
    found = []
    for dataset in report.datasets:
        found.append(
            _better_claim(
                report,
                dataset,
                "Weak supervision disentangles better than the unsupervised methods, on every metric",
                SOURCE,
                SUPERVISED,
            )
        )
        found.append(
            _better_claim(
                report,
                dataset,
                "Weakly supervised representations are more useful downstream with few labels",
                SOURCE,
                FEW_LABELS,
            )
        )
    return found


@studies.register("locatello2020")
class Locatello2020(Study):
    title = "Locatello et al. (ICML 2020): Weakly-Supervised Disentanglement Without Compromises"
    description = "weak supervision on pairs: Ada-GVAE and Ada-ML-VAE against an unsupervised beta-VAE"
    grids = {"locatello2020": locatello2020_grid}
    protocol = LOCATELLO_TRAIN
    select_by = "dci.disentanglement"
    metric_order = tuple(dict.fromkeys(o.partition(".")[0] for o in SUPERVISED))
    dataset_order = tuple(LOCATELLO_DATASETS)
    claims_rule = (
        "A claim that weak supervision does better is supported where a weak model beats an unsupervised one "
        f"more often than not on every output and every exact permutation p is below {SIGNIFICANCE:g}; not "
        "testable where the run's sizes could not reach that p or one side is missing."
    )

    def sections(self, report) -> list[Section]:
        return sections(report)

    def claims(self, report) -> list[Claim]:
        return claims(report)
