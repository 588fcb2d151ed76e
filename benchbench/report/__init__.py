"""``benchbench report``: a run → the paper's Tables 1–4 (CSV, LaTeX), its figures and an HTML page.

Every table comes from one tidy table of the run's cells; a dataset or configuration the run
lacks becomes a note under the table it would have filled, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchbench.registry import BenchbenchError, datasets
from benchbench.report import figures
from benchbench.report.html import write_html
from benchbench.report.latex import bold_best, styled, to_tex
from benchbench.report.tables import (
    PAPER_ATTRIBUTES,
    Selection,
    aggregate,
    hp_columns,
    representative_cells,
    table1,
    table2,
    tidy,
)
from benchbench.store import RunStore

FORMATS = ("csv", "latex", "html")
CORRELATION_DATASETS = ("shapes2d", "dsprites", "celeba", "celeba_official")


@dataclass
class Section:
    """One table or figure of the report: what it is, how it was made, and what is missing."""

    title: str
    caption: str
    html: str = ""
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _save_table(section: Section, out: Path, formats, name: str, frame: pd.DataFrame, styler) -> None:
    """The table as ``name``.csv (every column) and ``name``.tex (as styled), and its HTML."""
    if "csv" in formats:
        frame.to_csv(out / f"{name}.csv", index=False)
        section.files.append(f"{name}.csv")
    if "latex" in formats:
        (out / f"{name}.tex").write_text(to_tex(styler))
        section.files.append(f"{name}.tex")
    section.html = styler.to_html()


def _table1_section(agg, selection, out, formats) -> Section:
    t1, notes = table1(agg, selection)
    rule = "; ".join(selection.describe(d) for d in sorted(set(t1["dataset"]))) if not t1.empty else ""
    section = Section(
        "Table 1",
        "Disentanglement metric score (%) and reconstruction error per pixel on the test "
        f"sets, mean ± std over seeds, beside the seed's values. Selection: {rule or 'n/a'}.",
        notes=notes,
    )
    if t1.empty:
        return section
    index = pd.MultiIndex.from_frame(t1[["dataset", "method"]])
    means = pd.DataFrame(
        {
            "Metric": t1["metric.mean"].values,
            "Reconst. error": t1["recon.mean"].values,
            "Paper metric": t1["paper.metric"].values,
            "Paper reconst.": t1["paper.recon"].values,
        },
        index=index,
    )
    stds = pd.DataFrame({"Metric": t1["metric.std"].values, "Reconst. error": t1["recon.std"].values}, index=index)
    css = bold_best(
        means,
        {"Metric": True, "Reconst. error": False, "Paper metric": True, "Paper reconst.": False},
        groups=pd.Series(t1["dataset"].values, index=index),
    )
    digits = {"Metric": 1, "Paper metric": 2, "Reconst. error": 4, "Paper reconst.": 4}
    styler = styled(means, stds, digits, css)
    _save_table(section, out, formats, "table1", t1, styler)
    return section


def _table2_section(agg, selection, out, formats) -> Section:
    t2, notes = table2(agg, selection)
    section = Section(
        "Table 2",
        "CelebA attribute classification accuracy (%) on the test set: w_k = difference of the "
        "mean μ with and without attribute k on the training set, a bias fitted by the hinge loss; "
        "rows ours (mean over seeds), then the seed's. LaTeX shows the seed's 12 attributes; the CSV "
        "has all 40.",
        notes=notes,
    )
    if t2.empty:
        return section
    shown = [a for a in PAPER_ATTRIBUTES if a in t2.columns]
    ours = t2.set_index("method")[shown]
    paper = t2.set_index("method")[[f"paper.{a}" for a in shown]].set_axis(shown, axis=1)
    means = pd.concat({"ours": ours, "paper": paper})
    css = bold_best(
        means, dict.fromkeys(shown, True), groups=pd.Series(means.index.get_level_values(0), index=means.index)
    )
    styler = styled(means, None, dict.fromkeys(shown, 1), css)
    _save_table(section, out, formats, "table2", t2, styler)
    return section


def _overview_section(agg: pd.DataFrame, out: Path, formats) -> Section:
    """Every headline value of every evaluation shown: mean ± std (n seeds) per configuration."""
    keys = ["dataset", "method", *hp_columns(agg)]
    values = [c[: -len(".mean")] for c in agg.columns if c.endswith(".mean") and c.count(".") == 2]
    frame = agg[keys].copy()
    for value in values:
        mean, std, n = (agg[f"{value}.{s}"] for s in ("mean", "std", "n"))
        frame[value] = [
            "" if pd.isna(m) else f"{m:.4g}" + ("" if pd.isna(d) else f" ± {d:.2g}") + f" ({k:.0f})"
            for m, d, k in zip(mean, std, n)
        ]
    section = Section(
        "Every metric",
        "Mean ± std (number of seeds) of every metric's headline values, per configuration; "
        "per-factor values are in aggregate.csv.",
        html=frame.to_html(index=False, border=0, na_rep=""),
    )
    if "csv" in formats:
        section.files = ["cells.csv", "aggregate.csv"]
    return section


def _evaluations_section(run: RunStore, keys: dict[str, str], notes: list[str]) -> Section:
    """Which evaluation (metric + resolved options) every table and figure shows."""
    rows, stores, grid = [], run.cell_stores(), run.grid_evaluations()
    for metric, key in keys.items():
        records = [r for s in stores if (r := s.evaluation(metric, key)) and r["status"] == "done"]
        options = records[0]["options"] if records else grid.get(metric, {}).get("options", {})
        rows.append(
            {
                "metric": metric,
                "key": key,
                "models": len(records),
                "options": ", ".join(f"{k}={v}" for k, v in options.items()),
            }
        )
    frame = pd.DataFrame(rows, columns=["metric", "key", "models", "options"])
    return Section(
        "Evaluations shown",
        "Each metric's evaluation in the tables and figures: its key (cells/<id>/evaluations/<metric>/<key>/), "
        "the models that have it, and its resolved options.",
        html=frame.to_html(index=False, border=0),
        notes=notes,
    )


def make_report(
    run_path: Path,
    out: Path | None = None,
    formats=FORMATS,
    selection: Selection | None = None,
    evaluations: dict[str, str] | None = None,
) -> tuple[Path, list[str]]:
    """Write the report of the run at ``run_path`` into ``out`` (default ``<run>/report``), showing
    the evaluations ``evaluations`` picks (``{metric: key}``; default: the grid's).  Returns the
    folder and the notes on evaluations left out."""
    run = RunStore(run_path)
    if not run.manifest_path.exists():
        raise BenchbenchError(f"no run at {run_path}: no manifest.json there")
    run.check_layout()
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise BenchbenchError(f"unknown format {sorted(unknown)[0]!r} (known: {', '.join(FORMATS)})")
    out = Path(out or run.path / "report")
    out.mkdir(parents=True, exist_ok=True)
    selection = selection or Selection()
    keys, notes = run.evaluation_keys(evaluations)
    table = tidy(run, keys)
    if table.empty:
        raise BenchbenchError(f"run {run_path} has no cells yet")
    agg = aggregate(table)
    if "csv" in formats:
        table.to_csv(out / "cells.csv", index=False)
        agg.to_csv(out / "aggregate.csv", index=False)
    sections = [_table1_section(agg, selection, out, formats), _table2_section(agg, selection, out, formats)]
    present = sorted(set(agg["dataset"])) if "dataset" in agg else []
    for dataset in present:
        sections += _dataset_sections(run, table, agg, selection, keys, dataset, out)
    sections.append(_overview_section(agg, out, formats))
    sections.append(_evaluations_section(run, keys, notes))
    if "html" in formats:
        write_html(out / "index.html", run, sections, table)
    return out, notes


def _dataset_sections(run, table, agg, selection, keys, dataset, out) -> list[Section]:
    cells = representative_cells(table, agg, selection, dataset)
    chosen = ", ".join(f"{label} = cell {cell}" for label, cell in cells.items()) or "none finished"
    sections = []
    fig1 = figures.figure1(agg, dataset, out)
    if fig1:
        sections.append(
            Section(
                f"Figure 1 — {dataset}",
                "Disentanglement metric score against reconstruction error "
                "(test), varying β for β-VAE (β = 1 is the VAE) and λ_od for DIP-VAE; bars are ± std "
                "over seeds; each point is labelled with its β or λ_od.",
                images=[fig1],
            )
        )
    if dataset in CORRELATION_DATASETS:
        image, csvs = figures.correlations(run.path, cells, keys, dataset, out)
        number = "4" if dataset.startswith("celeba") else "3"
        sections.append(
            Section(
                f"Table {number} — {dataset}",
                "Pearson correlations of μ over the test set: latent × "
                "latent (top) and factor/attribute × latent (bottom), lowest-seed cell of each method "
                f"({chosen}).",
                images=[image] if image else [],
                files=csvs,
                notes=[] if image else [f"{dataset}: no latent_correlation artifacts"],
            )
        )
        fig2 = figures.figure2(run.path, cells, keys, dataset, out)
        if fig2:
            sections.append(
                Section(
                    f"Figure 2 — {dataset}",
                    "For each attribute, the latent most correlated with it "
                    "and that latent's four most correlated other attributes.",
                    images=[fig2],
                )
            )
    try:
        data = datasets.get(dataset)()
        trav = figures.traversals(run.path, cells, data, dataset, out)
        trav_notes = [] if trav else [f"{dataset}: no trained models to traverse"]
    except BenchbenchError as exc:
        trav, trav_notes = None, [f"latent traversals skipped: {exc}"]
    sections.append(
        Section(
            f"Latent traversals — {dataset}",
            "The first test image encoded, then each latent (rows) "
            "set to −3 … 3 in turn (columns), decoder means; per method (Tables 5–6 of the seed).",
            images=[trav] if trav else [],
            notes=trav_notes,
        )
    )
    curves = figures.training_curves(run.path, cells, dataset, out)
    if curves:
        sections.append(
            Section(
                f"Training curves — {dataset}",
                "Reconstruction, KL and total loss (means over each logging interval) of the cells shown above.",
                images=[curves],
            )
        )
    return sections
