"""The paper's tables, computed from one tidy table of a run's cells.

Everything starts from :func:`benchbench.report.results.tidy` (a row per cell: dataset, method,
hyperparameters, seed, status, every scalar metric, and its row label) and
:func:`benchbench.report.results.aggregate` (mean, std and n over the seeds of each configuration).  A
method *variant* is a method with its string hyperparameters (DIP-VAE-I and -II, running or
batch covariance): variants are separate rows, series and labels.
Table 1 picks, per dataset, the VAE, β-VAE at β₁ and β₂, and per DIP-VAE variant the
configuration with the best mean selection output (the paper's rule: the Higgins score, higher
is better).  The paper's numbers sit only beside the configuration they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchbench.core.registry import BenchbenchError, datasets
from benchbench.plugin.metric import declared_directions, metric_of, shown_output
from benchbench.report.results import direction, metric_columns, ranked_outputs

HIGGINS = "beta_vae_score.eval_accuracy"
RECON = "reconstruction_error.mse"

#: Table 1 of the paper: (Higgins score, reconstruction error per pixel), keyed by row.
PAPER_TABLE1 = {
    "shapes2d": {"VAE": (81.3, 0.0017), 4.0: (80.7, 0.0032), 60.0: (95.7, 0.0113), "DIP-VAE": (98.7, 0.0018)},
    "celeba": {"VAE": (7.5, 0.0876), 4.0: (8.1, 0.0937), 8.0: (7.1, 0.1065), "DIP-VAE": (11.31, 0.0911)},
}
PAPER_TABLE1["dsprites"] = PAPER_TABLE1["shapes2d"]
PAPER_TABLE1["celeba_official"] = PAPER_TABLE1["celeba"]
PAPER_BETAS = {"shapes2d": (4.0, 60.0), "dsprites": (4.0, 60.0), "celeba": (4.0, 8.0), "celeba_official": (4.0, 8.0)}
TABLE1_DATASETS = ("shapes2d", "dsprites", "celeba", "celeba_official")
CELEBA = ("celeba", "celeba_official")

#: The paper's DIP-VAE: variant i with its running covariance, λ_d = 10 λ_od, best Higgins score.
PAPER_DIP = {"hp.variant": "i", "hp.cov_estimate": "running"}

#: Table 2 of the paper: attribute accuracy (%) of its 12 attributes.
PAPER_ATTRIBUTES = [
    "Arched_Eyebrows",
    "Attractive",
    "Bangs",
    "Black_Hair",
    "Blond_Hair",
    "Heavy_Makeup",
    "Male",
    "Mouth_Slightly_Open",
    "No_Beard",
    "Wavy_Hair",
    "Wearing_Hat",
    "Wearing_Lipstick",
]
PAPER_TABLE2 = {
    "VAE": [71.8, 73.0, 89.8, 78.0, 88.9, 79.6, 83.9, 76.3, 87.3, 70.2, 95.8, 83.0],
    2.0: [71.6, 72.6, 90.6, 79.3, 89.1, 79.3, 83.5, 76.1, 86.9, 67.8, 95.9, 82.4],
    4.0: [71.6, 72.6, 90.0, 76.6, 88.9, 77.8, 82.3, 75.7, 85.3, 66.8, 95.8, 80.6],
    8.0: [71.6, 71.7, 90.0, 76.0, 87.2, 76.2, 80.5, 73.1, 85.3, 63.7, 95.8, 79.6],
    "DIP-VAE": [73.7, 73.2, 90.9, 80.6, 91.9, 81.5, 85.9, 75.9, 85.3, 71.5, 96.2, 84.7],
}
TABLE2_BETAS = (2.0, 4.0, 8.0)


#: The seed's metrics in the order it reports them; every other metric follows by name.
PAPER_ORDER = ("beta_vae_score", "reconstruction_error", "sap", "attribute_accuracy", "latent_correlation")


def reading_order(outputs: list[str]) -> list[str]:
    """``metric.output`` columns in the paper's order of metrics, each metric's outputs as given."""

    def rank(output: str) -> tuple[int, str]:
        metric = metric_of(output.partition(".")[0])
        return (PAPER_ORDER.index(metric) if metric in PAPER_ORDER else len(PAPER_ORDER), metric)

    return sorted(outputs, key=rank)


def heading(output: str, higher: bool | None) -> str:
    """An output as a row or column heading: its words, "(%)" for an accuracy, ↑ or ↓ where it
    is better higher or lower."""
    shown = shown_output(output)
    unit = " (%)" if shown.to_percent is not None else ""
    arrow = {True: " ↑", False: " ↓"}.get(higher, "")
    return f"{shown.words}{unit}{arrow}"


@dataclass
class Selection:
    """How Table 1 picks its rows; printed with the table and checked against the run."""

    betas: dict[str, tuple[float, float]] = field(default_factory=dict)
    select_by: str = HIGGINS
    #: Whether the user chose ``select_by``: only then must the run have its values (a run
    #: without the Higgins score still gets a report, with the rows it can fill).
    chosen: bool = False
    #: Which way each output is better, as the run recorded it (:func:`benchbench.report.results.directions`).
    directions: dict[str, dict[str, str]] = field(default_factory=dict)

    def betas_for(self, dataset: str) -> tuple[float, float]:
        """β₁, β₂ for a dataset: as given, else the paper's (4 and 8 for a dataset it lacks)."""
        return self.betas.get(dataset, PAPER_BETAS.get(dataset, (4.0, 8.0)))

    @property
    def higher(self) -> bool:
        """Whether ``select_by`` is better higher: as the run recorded it, else as its metric declares."""
        metric = self.select_by.partition(".")[0]
        known = self.directions if metric in self.directions else {metric: declared_directions(metric)}
        return direction(known, self.select_by) == "higher"

    def describe(self, dataset: str) -> str:
        b1, b2 = self.betas_for(dataset)
        best = "highest" if self.higher else "lowest"
        return (
            f"{title_of(dataset)}: β₁ = {b1:g}, β₂ = {b2:g}; per DIP-VAE variant, the configuration "
            f"(λ_od, λ_d, …) with the {best} mean {shown_output(self.select_by).words} over seeds"
        )

    def check(self, table: pd.DataFrame) -> None:
        """One-line errors for a selection the run cannot answer: an output with no declared
        direction or no values, a dataset not in the run, a β it did not train."""
        metric = self.select_by.partition(".")[0]
        # a metric the run lacks: what it declares where it is registered, for the clearer error
        declared = self.directions if metric in self.directions else {metric: declared_directions(metric)}
        if self.chosen and direction(declared, self.select_by) is None:
            known = ", ".join(ranked_outputs(metric_columns(table), self.directions)) or "none"
            raise BenchbenchError(
                f"--select-by {self.select_by!r}: not a METRIC.OUTPUT that declares which way is better "
                f"(in this run: {known})"
            )
        if self.chosen and (self.select_by not in table or table[self.select_by].isna().all()):
            raise BenchbenchError(f"--select-by {self.select_by!r}: no values of it in this run")
        datasets = sorted(set(table["dataset"]))
        for dataset, pair in self.betas.items():
            if dataset not in datasets:
                raise BenchbenchError(f"--beta: dataset {dataset!r} is not in this run (has: {', '.join(datasets)})")
            trained = sorted(set(betas_of(table, dataset)))
            for beta in pair:
                if not any(np.isclose(beta, trained)):
                    have = ", ".join(f"{b:g}" for b in trained) or "none"
                    raise BenchbenchError(f"--beta: {dataset} has no β-VAE with β = {beta:g} (has: {have})")


def betas_of(table: pd.DataFrame, dataset: str) -> list[float]:
    rows = table[(table["dataset"] == dataset) & (table["method"] == "beta_vae")]
    return [float(b) for b in rows.get("hp.beta", pd.Series(dtype=float)).dropna()]


def _where(agg: pd.DataFrame, dataset: str, method: str, **hp) -> pd.DataFrame:
    rows = agg[(agg["dataset"] == dataset) & (agg["method"] == method)]
    for key, value in hp.items():
        column = f"hp.{key}"
        if column not in rows:
            return rows.iloc[:0]
        rows = (
            rows[np.isclose(rows[column].astype(float), value)]
            if isinstance(value, float)
            else rows[rows[column] == value]
        )
    return rows


def beta_sweep(rows: pd.DataFrame) -> pd.DataFrame:
    """The β-VAE rows (of a tidy or an aggregate table), with the VAE's as β = 1 where there is
    no β-VAE at β = 1: the sweep of Figure 1 and of the claim that error rises with β."""
    betas = rows[rows["method"] == "beta_vae"].copy()
    vae = rows[rows["method"] == "vae"].copy()
    if not vae.empty and not (betas.get("hp.beta", pd.Series(dtype=float)) == 1).any():
        vae["hp.beta"] = 1.0
        betas = pd.concat([betas, vae])
    return betas


def vae_rows(agg: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The VAE however the grid writes it: method ``vae``, else ``beta_vae`` with β = 1."""
    rows = _where(agg, dataset, "vae")
    return rows if not rows.empty else _where(agg, dataset, "beta_vae", beta=1.0)


def best_rows(agg: pd.DataFrame, dataset: str, method: str, selection: Selection) -> list[pd.Series]:
    """Per variant of ``method``, its configuration with the best mean selection output."""
    rows = _where(agg, dataset, method)
    column = f"{selection.select_by}.mean"
    picked = []
    for _, variant in rows.groupby("variant", sort=True):
        if column in variant and variant[column].notna().any():
            values = variant[column]
            picked.append(variant.loc[values.idxmax() if selection.higher else values.idxmin()])
    return picked


def is_paper_dip(row: pd.Series, selection: Selection) -> bool:
    """Whether a selected DIP-VAE row is the configuration behind the paper's DIP-VAE numbers."""
    same = all(row.get(k) == v for k, v in PAPER_DIP.items())
    lambdas = np.isclose(float(row.get("hp.lambda_d", np.nan)), 10 * float(row.get("hp.lambda_od", np.nan)))
    return bool(same and lambdas and selection.select_by == HIGGINS)


PAPER_DIP_TEXT = "DIP-VAE-I with the running covariance, λ_d = 10 λ_od, picked by the Higgins score"


@dataclass
class Row:
    """A table row: its label, the aggregate row it shows, and the paper's key (``None`` where
    the paper has no number for this configuration)."""

    label: str
    data: pd.Series
    paper: object = None


def title_of(dataset: str) -> str:
    """A dataset as papers name it ("2D Shapes"): its registered ``title``, else its name."""
    return (datasets.get(dataset).title or dataset) if dataset in datasets else dataset


def dip_name(row: pd.Series) -> str:
    """A selected DIP-VAE configuration named as a paper names it: its variant in roman numerals,
    any other setting that makes it a variant of its own, and its λ_od ("DIP-VAE-I (λ_od = 10)")."""
    roman = str(row.get("hp.variant", "")).upper() if pd.notna(row.get("hp.variant")) else ""
    inside = row["variant"].partition(" (")[2].rstrip(")")
    parts = [p for p in inside.split(", ") if p and not p.startswith("variant =")]
    if pd.notna(row.get("hp.lambda_od")):
        parts.append(f"λ_od = {row['hp.lambda_od']:g}")
    name = f"DIP-VAE-{roman}" if roman else "DIP-VAE"
    return f"{name} ({', '.join(parts)})" if parts else name


def table1_rows(agg: pd.DataFrame, dataset: str, selection: Selection) -> tuple[list[Row], list[str]]:
    """Table 1's rows for one dataset, and notes for the rows it could not fill or compare."""
    b1, b2 = selection.betas_for(dataset)
    paper = PAPER_TABLE1.get(dataset, {})
    rows, notes = [], []
    vae = vae_rows(agg, dataset)
    if vae.empty:
        notes.append(f"{dataset}: no finished VAE cells")
    else:
        rows.append(Row("VAE", vae.iloc[0], "VAE"))
    for beta in (b1, b2):
        found = _where(agg, dataset, "beta_vae", beta=beta)
        if found.empty:
            notes.append(f"{dataset}: no finished β-VAE (β = {beta:g}) cells")
            continue
        key = next((k for k in paper if isinstance(k, float) and np.isclose(k, beta)), None)
        if key is None and paper:
            shown = ", ".join(f"{k:g}" for k in paper if isinstance(k, float))
            notes.append(f"{dataset}: the paper has no β = {beta:g} row (it reports β = {shown}); its column is empty")
        rows.append(Row(f"β-VAE (β = {beta:g})", found.iloc[0], key))
    dips = best_rows(agg, dataset, "dip_vae", selection)
    if not dips:
        notes.append(f"{dataset}: no finished DIP-VAE cells with {selection.select_by}")
    for row in dips:
        match = is_paper_dip(row, selection)
        if paper and not match:
            notes.append(
                f"{dataset}: {row['variant']} is not the paper's DIP-VAE ({PAPER_DIP_TEXT}); its column is empty"
            )
        rows.append(Row(dip_name(row), row, "DIP-VAE" if match else None))
    return rows, notes


def _stats(row: pd.Series, column: str) -> dict[str, float]:
    return {s: row.get(f"{column}.{s}", np.nan) for s in ("mean", "std", "n", "ci_low", "ci_high")}


def table1(agg: pd.DataFrame, selection: Selection) -> tuple[pd.DataFrame, list[str]]:
    """Table 1: per dataset, the methods' Higgins score and reconstruction error (mean, std, n
    over seeds) beside the paper's numbers for the same configuration."""
    records, notes = [], []
    present = set(agg["dataset"]) if "dataset" in agg else set()
    if not present & {"shapes2d", "dsprites"}:
        notes.append("shapes2d: not in this run")
    if not present & set(CELEBA):
        notes.append("celeba: not in this run")
    for dataset in (d for d in TABLE1_DATASETS if d in present):
        rows, missing = table1_rows(agg, dataset, selection)
        notes += missing
        for row in rows:
            paper = PAPER_TABLE1.get(dataset, {}).get(row.paper, (np.nan, np.nan))
            metric, recon = _stats(row.data, HIGGINS), _stats(row.data, RECON)
            records.append(
                {
                    "dataset": dataset,
                    "method": row.label,
                    **{k: row.data[k] for k in row.data.index if k.startswith("hp.") and pd.notna(row.data[k])},
                    "metric.mean": metric["mean"],
                    "metric.std": metric["std"],
                    "metric.ci_low": metric["ci_low"],
                    "metric.ci_high": metric["ci_high"],
                    "recon.mean": recon["mean"],
                    "recon.std": recon["std"],
                    "recon.ci_low": recon["ci_low"],
                    "recon.ci_high": recon["ci_high"],
                    "n": recon["n"] if pd.notna(recon["n"]) else metric["n"],
                    "paper.metric": paper[0],
                    "paper.recon": paper[1],
                }
            )
    return pd.DataFrame(records), notes


ATTRIBUTE = "attribute_accuracy."


def attributes_of(agg: pd.DataFrame) -> list[str]:
    return sorted(
        c[len(ATTRIBUTE) : -len(".mean")]
        for c in agg.columns
        if c.startswith(ATTRIBUTE) and c.endswith(".mean") and c != ATTRIBUTE + "mean.mean"
    )


def table2(agg: pd.DataFrame, selection: Selection, dataset: str) -> tuple[pd.DataFrame, list[str]]:
    """Table 2: attribute accuracy (%) for VAE, β = 2, 4, 8 and each selected DIP-VAE variant;
    every attribute in the run (``<attr>`` mean, ``<attr>.std`` over ``n`` seeds), the paper's
    values in ``paper.<attr>`` beside the configurations they belong to."""
    attributes = attributes_of(agg[agg["dataset"] == dataset].dropna(axis=1, how="all"))
    if not attributes:
        return pd.DataFrame(), [f"{dataset}: no attribute_accuracy values"]
    picks = [Row("VAE", r, "VAE") for _, r in vae_rows(agg, dataset).iloc[:1].iterrows()]
    picks += [
        Row(f"β = {b:g}", r, b) for b in TABLE2_BETAS for _, r in _where(agg, dataset, "beta_vae", beta=b).iterrows()
    ]
    picks += [
        Row(dip_name(r), r, "DIP-VAE" if is_paper_dip(r, selection) else None)
        for r in best_rows(agg, dataset, "dip_vae", selection)
    ]
    found = {row.paper for row in picks}
    notes = [
        f"{dataset}: no finished {name} cells"
        for name, key in (("VAE", "VAE"), *((f"β = {b:g}", b) for b in TABLE2_BETAS))
        if key not in found
    ]
    records = []
    for row in picks:
        record = {"method": row.label, "n": row.data.get(f"{ATTRIBUTE}mean.n", np.nan)}
        for a in attributes:
            record[a] = row.data.get(f"{ATTRIBUTE}{a}.mean", np.nan)
            record[f"{a}.std"] = row.data.get(f"{ATTRIBUTE}{a}.std", np.nan)
        paper = PAPER_TABLE2.get(row.paper, [np.nan] * len(PAPER_ATTRIBUTES))
        record.update({f"paper.{a}": v for a, v in zip(PAPER_ATTRIBUTES, paper)})
        records.append(record)
    return pd.DataFrame(records), notes


def cells_of(table: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The trained cells (sorted by seed) of the configuration an aggregate row describes."""
    mask = (table["dataset"] == row["dataset"]) & (table["label"] == row["label"]) & (table["status"] == "trained")
    return table[mask].sort_values("seed")


def representative_cells(table: pd.DataFrame, agg: pd.DataFrame, selection: Selection, dataset: str) -> dict[str, str]:
    """VAE, β-VAE (β₁) and each selected DIP-VAE variant of a dataset → its lowest-seed cell,
    labelled with that seed (the cell whose correlations, traversals and curves are shown)."""
    out = {}
    b1 = selection.betas_for(dataset)[0]
    for row in table1_rows(agg, dataset, selection)[0]:
        if row.label == f"β-VAE (β = {b1:g})" or row.label == "VAE" or row.data["method"] == "dip_vae":
            cells = cells_of(table, row.data)
            if not cells.empty:
                out[f"{row.label}, seed {cells.iloc[0]['seed']}"] = cells.iloc[0]["cell"]
    return out
