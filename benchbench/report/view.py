"""A run as a study's report reads it (:class:`ReportView`): the tidy table and its aggregate,
the evaluations shown, the options, and the machinery a study builds its sections with — tables
written as CSV, LaTeX and HTML, latent correlations, a score-against-error trade-off, attribute
bars, traversals and curves — so a study file holds its paper's numbers and words, and no
drawing or file code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.core.registry import BenchbenchError, datasets
from benchbench.report import figures
from benchbench.report.parts import Section, cells_of, title_of
from benchbench.report.sections import Options, _files, _higher, _save_table, correlation_latex
from benchbench.report.tables import Selection
from benchbench.storage.store import RunStore


@dataclass
class ReportView:
    """What :meth:`Study.sections <benchbench.plugin.study.Study.sections>` and ``claims`` are
    handed.  ``table``: a row per model; ``agg``: a row per configuration (mean, std, n and
    interval over seeds of every output); ``datasets``: the run's, in the study's order."""

    run: RunStore
    table: pd.DataFrame
    agg: pd.DataFrame
    keys: dict[str, str]
    selection: Selection
    out: Path
    options: Options
    datasets: list[str]
    said: list[str] = field(default_factory=list)
    computed: dict = field(default_factory=dict)

    def once(self, key, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked, its value after: an analysis that a
        study's sections and its claims both read is computed once per report."""
        if key not in self.computed:
            self.computed[key] = compute()
        return self.computed[key]

    def say(self, line: str) -> None:
        """A line for the terminal after the report is written (a headline table, say)."""
        self.said.append(line)

    def save_table(self, section: Section, name: str, frame: pd.DataFrame, tables, label: str) -> None:
        """``frame`` as ``name``.csv (every column), ``tables`` as ``name``.tex (LaTeX label
        ``tab:<run>-<label>``) and as the section's HTML, in the formats asked for."""
        _save_table(section, self.out, self.options, name, frame, tables, f"tab:{self.options.run}-{label}")

    def add_images(self, section: Section, images: list[str]) -> None:
        """Show ``images`` in the section and link each PNG and its PDF."""
        _files(section, images)

    def heatmap(self, name: str, matrix: pd.DataFrame, title: str, legend: str, signed: bool = True) -> str | None:
        """``matrix`` (rows and columns in words where they are ``metric.output`` names) as a
        heatmap saved as ``name``: red to blue from −1 to 1 where ``signed`` (a correlation),
        else 0 to 1 (a share); ``None`` without figures or values."""
        if not self.options.figures or matrix.empty or matrix.notna().sum().sum() == 0:
            return None
        colours, low = ("RdBu_r", -1) if signed else ("viridis", 0)
        return figures.heatmap(matrix, title, legend, colours, low, self.out, name)

    def lines(
        self, name: str, models: pd.DataFrame, x: str, panels: dict[str, str], title: str, axes: tuple[str, str]
    ) -> str | None:
        """Per method (a line through its means over seeds, each model a point) each ``panels``
        column (column → panel title) against ``x``; ``axes``: the x and y labels."""
        if not self.options.figures:
            return None
        return figures.lines(models, x, "method", panels, title, axes, self.out, name)

    def distributions(self, name: str, dataset: str, outputs: list[str], title: str) -> str | None:
        """Per output, a violin of every trained model of ``dataset`` per method variant (every
        setting and seed), each model a point: how far apart the methods' models lie."""
        if not self.options.figures:
            return None
        higher = {o: _higher(self.selection.directions, o) for o in outputs}
        return figures.overview(self.table, outputs, dataset, self.out, higher, name, title)

    def latent_correlations(self, dataset: str, cells: dict[str, str], title: str, note: str, name: str) -> Section:
        """The Pearson correlations of μ of each of ``cells`` (label → cell): latent × latent and
        factor × latent, as heatmaps, CSV and LaTeX (``name``.tex)."""
        found = figures.correlation_arrays(self.run.path, cells, self.keys)
        options = self.options
        csvs = figures.correlation_tables(found, dataset, self.out) if "csv" in options.formats else []
        images = figures.correlations(found, dataset, self.out) if options.figures else []
        section = Section(
            title,
            "Pearson correlations of μ over the test set: latent × latent (first figure) and "
            f"factor/attribute × latent (second). {note} {options.protocol}".rstrip(),
            files=csvs,
            notes=[] if found else [f"{dataset}: no latent_correlation artifacts"],
        )
        if found and "latex" in options.formats:
            label = f"tab:{options.run}-{name}"
            (self.out / f"{name}.tex").write_text(
                correlation_latex(found, f"{note} {options.protocol}", label, options)
            )
            section.files.append(f"{name}.tex")
        _files(section, images)
        return section

    def tradeoff_figure(
        self, dataset: str, score: str, error: str, published, published_label: str, axes: tuple[str, str], name: str
    ):
        """``score`` against ``error`` per series (β-VAE's β, each DIP-VAE variant's λ_od), with
        ``published`` points ``(error, score, label)`` as hollow markers, ``axes`` the x and y
        labels; ``None`` without values.  ``report --logx`` forces a log x axis on or off."""
        return figures.tradeoff(
            self.agg, dataset, self.out, score, error, published, published_label, axes, name, self.options.logx
        )

    def attribute_latents(self, dataset: str, cells: dict[str, str], attributes, name: str):
        """Per attribute, the latent most correlated with it and that latent's signed correlation
        with the attribute and its four most correlated others; ``None`` without the arrays."""
        return figures.attribute_latents(self.run.path, cells, self.keys, dataset, self.out, attributes, name)

    def traversals(self, dataset: str, cells: dict[str, str], note: str, shown_in: str = "") -> Section:
        """Each of ``cells``' latents traversed from a test image, decoder means, most informative
        first; ``shown_in``: where a study's paper shows its own ("Tables 5–6 of the paper")."""
        try:
            data = datasets.get(dataset)()
            trav = figures.traversals(self.run.path, cells, data, dataset, self.out)
            trav_notes = [] if trav else [f"{dataset}: none of these cells has its model.pt (not kept with this run)"]
        except BenchbenchError as exc:
            trav, trav_notes = None, [f"latent traversals skipped: {exc}"]
        where = f" ({shown_in})" if shown_in else ""
        section = Section(
            f"Latent traversals — {title_of(dataset)}",
            "The first test image and its reconstruction (first row), then each latent set to −3 … 3 in "
            f"turn (columns), decoder means, every tile at its native size{where}. Rows: "
            "the latents by mean KL over 256 test images, most informative first; those below "
            f"{figures.ACTIVE_KL:g} nats are marked inactive (the prior: their row shows nothing). {note}",
            notes=trav_notes,
        )
        _files(section, [trav] if trav else [])
        return section

    def curves(self, dataset: str, cells: dict[str, str], note: str) -> Section | None:
        """Every logged term of ``cells`` against the step; ``None`` without curves."""
        curves = figures.training_curves(self.run.path, cells, dataset, self.out)
        if not curves:
            return None
        section = Section(
            f"Training curves — {title_of(dataset)}",
            f"Every logged term (means over each logging interval) against the step. {note}",
        )
        _files(section, [curves])
        return section

    def default_sections(self) -> list[Section]:
        """What any run shows whatever its study: per dataset, the latent traversals and training
        curves of one model per method variant (its best configuration by the selection output,
        lowest seed)."""
        if not self.options.figures:
            return []
        sections = []
        for dataset in self.datasets:
            cells = self.representatives(dataset)
            chosen = ", ".join(f"{label} = cell {cell}" for label, cell in cells.items()) or "none finished"
            note = f"One model per method variant: the lowest seed of its best configuration ({chosen})."
            sections.append(self.traversals(dataset, cells, note))
            curves = self.curves(dataset, cells, note)
            sections += [curves] if curves else []
        return sections

    def representatives(self, dataset: str) -> dict[str, str]:
        """Per method variant of ``dataset``, the lowest-seed trained cell of its configuration
        with the best mean selection output (the first configuration where it has none)."""
        rows = self.agg[self.agg["dataset"] == dataset]
        column = f"{self.selection.select_by}.mean"
        out = {}
        for _, group in rows.groupby("variant", sort=True):
            best = group
            if column in group and group[column].notna().any():
                best = group.loc[[group[column].idxmax() if self.selection.higher else group[column].idxmin()]]
            row = best.iloc[0]
            cells = cells_of(self.table, row)
            if not cells.empty:
                out[f"{row['label']}, seed {cells.iloc[0]['seed']}"] = cells.iloc[0]["cell"]
        return out
