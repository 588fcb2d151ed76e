"""The paper's tables, computed from one tidy table of a run's cells.

Everything starts from :func:`tidy` (a row per cell: dataset, method, hyperparameters, seed,
status, every scalar metric) and :func:`aggregate` (mean, std and n over seeds of each
configuration).  Table 1 picks, per dataset, the VAE, β-VAE at β₁ and β₂, and the DIP-VAE
configuration with the best mean selection metric (the seed's rule: the Higgins score).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchbench.store import RunStore, results_table

HIGGINS = "beta_vae_score.eval_accuracy"
RECON = "reconstruction_error.mse"

#: Table 1 of the seed: (Higgins score, reconstruction error per pixel).
PAPER_TABLE1 = {
    "shapes2d": {"VAE": (81.3, 0.0017), "beta1": (80.7, 0.0032), "beta2": (95.7, 0.0113), "DIP-VAE": (98.7, 0.0018)},
    "celeba": {"VAE": (7.5, 0.0876), "beta1": (8.1, 0.0937), "beta2": (7.1, 0.1065), "DIP-VAE": (11.31, 0.0911)},
}
PAPER_TABLE1["dsprites"] = PAPER_TABLE1["shapes2d"]
PAPER_TABLE1["celeba_official"] = PAPER_TABLE1["celeba"]
DEFAULT_BETAS = {"shapes2d": (4.0, 60.0), "dsprites": (4.0, 60.0), "celeba": (4.0, 8.0), "celeba_official": (4.0, 8.0)}

#: Table 2 of the seed: attribute accuracy (%) of its 12 attributes.
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
    "β = 2": [71.6, 72.6, 90.6, 79.3, 89.1, 79.3, 83.5, 76.1, 86.9, 67.8, 95.9, 82.4],
    "β = 4": [71.6, 72.6, 90.0, 76.6, 88.9, 77.8, 82.3, 75.7, 85.3, 66.8, 95.8, 80.6],
    "β = 8": [71.6, 71.7, 90.0, 76.0, 87.2, 76.2, 80.5, 73.1, 85.3, 63.7, 95.8, 79.6],
    "DIP-VAE": [73.7, 73.2, 90.9, 80.6, 91.9, 81.5, 85.9, 75.9, 85.3, 71.5, 96.2, 84.7],
}
TABLE1_DATASETS = ("shapes2d", "dsprites", "celeba", "celeba_official")


def tidy(run: RunStore, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """A row per cell of the run, with the evaluations ``keys`` picks (see
    :func:`benchbench.store.results_table`)."""
    return results_table(run, keys)


def hp_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("hp.")]


def metric_columns(table: pd.DataFrame) -> list[str]:
    fixed = {"cell", "dataset", "method", "seed", "status"}
    return [c for c in table.columns if c not in fixed and not c.startswith("hp.")]


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof 1) and n over the seeds of each trained configuration; columns
    ``<metric>.mean``, ``<metric>.std``, ``<metric>.n`` (n counts the seeds with that value)."""
    done = table[table["status"] == "trained"]
    keys = ["dataset", "method", *hp_columns(table)]
    if done.empty:
        return pd.DataFrame(columns=keys)
    grouped = done.groupby(keys, dropna=False, sort=True)[metric_columns(table)]
    stats = grouped.agg(["mean", "std", "count"])
    stats.columns = [f"{m}.{'n' if s == 'count' else s}" for m, s in stats.columns]
    return stats.reset_index()


@dataclass
class Selection:
    """How Table 1 picks its rows; printed with the table."""

    betas: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BETAS))
    select_by: str = HIGGINS

    def betas_for(self, dataset: str) -> tuple[float, float]:
        """β₁, β₂ for a dataset (4 and 8, CelebA's, where none is set)."""
        return self.betas.get(dataset, (4.0, 8.0))

    def describe(self, dataset: str) -> str:
        b1, b2 = self.betas_for(dataset)
        return (
            f"{dataset}: β₁ = {b1:g}, β₂ = {b2:g}; DIP-VAE is the configuration (λ_od, λ_d, …) "
            f"with the highest mean {self.select_by} over seeds"
        )


def _pick(agg: pd.DataFrame, dataset: str, method: str, **hp: float) -> pd.DataFrame:
    rows = agg[(agg["dataset"] == dataset) & (agg["method"] == method)]
    for key, value in hp.items():
        column = f"hp.{key}"
        rows = rows[np.isclose(rows[column].astype(float), value)] if column in rows else rows.iloc[:0]
    return rows


def table1_rows(
    agg: pd.DataFrame, dataset: str, selection: Selection
) -> tuple[list[tuple[str, str, pd.Series]], list[str]]:
    """Table 1's rows for one dataset as ``(paper key, label, aggregate row)``, and notes for
    the rows that could not be filled."""
    b1, b2 = selection.betas_for(dataset)
    dip = _pick(agg, dataset, "dip_vae")
    column = f"{selection.select_by}.mean"
    if not dip.empty and column in dip and dip[column].notna().any():
        dip = dip.loc[[dip[column].idxmax()]]
    else:
        dip = dip.iloc[:0]
    wanted = [
        ("VAE", "VAE", _pick(agg, dataset, "vae")),
        ("beta1", f"β-VAE (β = {b1:g})", _pick(agg, dataset, "beta_vae", beta=b1)),
        ("beta2", f"β-VAE (β = {b2:g})", _pick(agg, dataset, "beta_vae", beta=b2)),
        ("DIP-VAE", "DIP-VAE", dip),
    ]
    rows = [(key, label, found.iloc[0]) for key, label, found in wanted if not found.empty]
    notes = [f"{dataset}: no finished {label} cells" for _, label, found in wanted if found.empty]
    return rows, notes


def table1(agg: pd.DataFrame, selection: Selection) -> tuple[pd.DataFrame, list[str]]:
    """Table 1: per dataset, the four methods' Higgins score and reconstruction error
    (mean, std, n over seeds) beside the seed's numbers."""
    records, notes = [], []
    present = set(agg["dataset"]) if "dataset" in agg else set()
    notes += [f"{d}: not in this run" for d in ("shapes2d", "celeba") if d not in present]
    for dataset in (d for d in TABLE1_DATASETS if d in present):
        rows, missing = table1_rows(agg, dataset, selection)
        notes += missing
        for key, label, row in rows:
            metric, recon = PAPER_TABLE1.get(dataset, {}).get(key, (np.nan, np.nan))
            records.append(
                {
                    "dataset": dataset,
                    "method": label,
                    **{k: row[k] for k in row.index if k.startswith("hp.") and pd.notna(row[k])},
                    "metric.mean": row.get(f"{HIGGINS}.mean", np.nan),
                    "metric.std": row.get(f"{HIGGINS}.std", np.nan),
                    "recon.mean": row.get(f"{RECON}.mean", np.nan),
                    "recon.std": row.get(f"{RECON}.std", np.nan),
                    "n": row.get(f"{RECON}.n", np.nan),
                    "paper.metric": metric,
                    "paper.recon": recon,
                }
            )
    return pd.DataFrame(records), notes


def table2(agg: pd.DataFrame, selection: Selection, dataset: str = "celeba") -> tuple[pd.DataFrame, list[str]]:
    """Table 2: attribute accuracy (%) for VAE, β = 2, 4, 8 and the selected DIP-VAE; every
    attribute in the run, means over seeds, the seed's values in ``paper.<attribute>`` columns."""
    if "dataset" not in agg or dataset not in set(agg["dataset"]):
        return pd.DataFrame(), [f"{dataset}: not in this run"]
    prefix = "attribute_accuracy."
    attributes = sorted(
        c[len(prefix) : -len(".mean")]
        for c in agg.columns
        if c.startswith(prefix) and c.endswith(".mean") and c != prefix + "mean.mean"
    )
    dip = [row for key, _, row in table1_rows(agg, dataset, selection)[0] if key == "DIP-VAE"]
    picks = {"VAE": _pick(agg, dataset, "vae")}
    picks.update({f"β = {b}": _pick(agg, dataset, "beta_vae", beta=b) for b in (2, 4, 8)})
    picks["DIP-VAE"] = pd.DataFrame(dip)
    records, notes = [], []
    for label, found in picks.items():
        if found.empty or not attributes:
            notes.append(f"{dataset}: no finished {label} cells with attribute accuracy")
            continue
        row = found.iloc[0]
        record = {"method": label, **{a: row[f"{prefix}{a}.mean"] for a in attributes}}
        record.update({f"paper.{a}": v for a, v in zip(PAPER_ATTRIBUTES, PAPER_TABLE2[label])})
        records.append(record)
    return pd.DataFrame(records), notes


def cells_of(table: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The trained cells (sorted by seed) of the configuration an aggregate row describes."""
    mask = (table["dataset"] == row["dataset"]) & (table["method"] == row["method"]) & (table["status"] == "trained")
    for col in hp_columns(table):
        value = row.get(col, np.nan)
        mask &= table[col].isna() if pd.isna(value) else (table[col] == value)
    return table[mask].sort_values("seed")


def representative_cells(table: pd.DataFrame, agg: pd.DataFrame, selection: Selection, dataset: str) -> dict[str, str]:
    """VAE, β-VAE (β₁) and the selected DIP-VAE of a dataset → the id of its lowest-seed cell
    (the cell whose correlations, traversals and curves the report shows)."""
    out = {}
    for key, label, row in table1_rows(agg, dataset, selection)[0]:
        if key in ("VAE", "beta1", "DIP-VAE"):
            cells = cells_of(table, row)
            if not cells.empty:
                out[label] = cells.iloc[0]["cell"]
    return out
