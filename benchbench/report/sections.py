"""The report's sections: each table or figure of the paper, the every-metric overview and the
run's own accounting (cells not trained, evaluations shown), built from the tidy table and its
aggregate into files and HTML fragments."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.core.registry import BenchbenchError, datasets, metrics
from benchbench.plugin.metric import declaration, metric_of, shown_output
from benchbench.report import figures
from benchbench.report.analysis import agreeing_pairs, comparisons, metric_agreement, variance_shares
from benchbench.report.claims import SIGNIFICANCE, SIMILAR, check_claims, claims_frame
from benchbench.report.html import frame_html, rows_table_html, table_html
from benchbench.report.latex import matrix_tabular, table_float, tabular
from benchbench.report.numbers import BOLD_RULE, Column, digits_for
from benchbench.report.results import direction, headline_outputs, held_evaluations, metric_columns, profile_key
from benchbench.report.tables import (
    CELEBA,
    HIGGINS,
    PAPER_ATTRIBUTES,
    heading,
    reading_order,
    representative_cells,
    table1,
    table2,
    title_of,
)
from benchbench.storage.store import RunStore

#: What a report can write; the page shows the figures, so ``html`` draws them too.
FORMATS = ("csv", "latex", "figures", "html")
SHAPES = ("shapes2d", "dsprites")
TABLE2_WIDTH = 4  # attributes per tabular: three stacked tabulars fit a one-column page


@dataclass
class Table:
    """A table as both LaTeX and HTML show it: label columns, numeric columns, row groups."""

    label_headers: list[str]
    labels: list[list[str]]
    columns: list[Column]
    groups: list


@dataclass
class Section:
    """One table or figure of the report: what it is, how it was made, and what is missing."""

    title: str
    caption: str
    html: str = ""
    images: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return figures.slug(self.title).lower()


@dataclass
class Options:
    formats: tuple = FORMATS
    standalone: bool = False
    logx: bool | None = None
    interval: bool = False  # each mean's 95 % interval in the LaTeX tables too
    protocol: str = ""  # how the run departs from the paper's protocol: said in every table's caption
    run: str = "benchbench"  # prefixes the LaTeX labels, so two runs' tables in one paper never collide
    study: Any = None  # the registered Study whose sections and claims the report shows (None: none)

    @property
    def figures(self) -> bool:
        """Whether to draw the figures: asked for, or shown by the page (drawing is most of a
        report's time)."""
        return "figures" in self.formats or "html" in self.formats


#: What the bracketed interval beside a mean is, for captions and the page to state.
INTERVAL_RULE = (
    "In brackets: a 95 % interval for the mean, the percentile bootstrap over seeds (10,000 resamples "
    "from seed 0); not drawn below 3 seeds, where resampling one or two values says nothing of the spread."
)


def _files(section: Section, images: list[str]) -> None:
    """Link every figure's PNG and PDF."""
    section.images += images
    section.files += [p for image in images for p in (image, image.removesuffix(".png") + ".pdf")]


def _save_table(section: Section, out: Path, options: Options, name: str, frame: pd.DataFrame, tables, label) -> None:
    """The table as ``name``.csv (every column), ``name``.tex (a float, or documents), and HTML."""
    if "csv" in options.formats:
        frame.to_csv(out / f"{name}.csv", index=False)
        section.files.append(f"{name}.csv")
    if "latex" in options.formats:
        body = [tabular(t.label_headers, t.labels, t.columns, t.groups, options.interval) for t in tables]
        (out / f"{name}.tex").write_text(table_float(body, section.caption, label, options.standalone))
        section.files.append(f"{name}.tex")
    section.html = "".join(table_html(t) for t in tables)


def table1_section(agg, selection, out, options) -> Section:
    t1, notes = table1(agg, selection)
    rule = "; ".join(selection.describe(d) for d in dict.fromkeys(t1["dataset"])) if not t1.empty else ""
    section = Section(
        "Table 1",
        "Disentanglement metric score (%) and reconstruction error per pixel on the test sets, "
        "mean ± std over n seeds, beside the paper's values for the same configuration. "
        f"Selection: {rule or 'n/a'}. {BOLD_RULE} {INTERVAL_RULE} {options.protocol}".rstrip(),
        notes=notes,
    )
    if t1.empty:
        return section
    higher = selection.select_by == HIGGINS
    table = Table(
        ["Dataset", "Method", "n"],
        [[title_of(d), m, f"{n:.0f}"] for d, m, n in zip(t1["dataset"], t1["method"], t1["n"].fillna(0))],
        [
            Column(
                "Metric (%)",
                list(t1["metric.mean"]),
                list(t1["metric.std"]),
                1,
                True if higher else None,
                list(t1["metric.ci_low"]),
                list(t1["metric.ci_high"]),
            ),
            Column(
                "Reconst. error",
                list(t1["recon.mean"]),
                list(t1["recon.std"]),
                4,
                False,
                list(t1["recon.ci_low"]),
                list(t1["recon.ci_high"]),
            ),
            Column("Paper metric", list(t1["paper.metric"]), None, 2, True),
            Column("Paper reconst.", list(t1["paper.recon"]), None, 4, False),
        ],
        list(t1["dataset"]),
    )
    _save_table(section, out, options, "table1", t1, [table], f"tab:{options.run}-table1")
    return section


def table2_section(agg, selection, dataset, out, options) -> Section:
    t2, notes = table2(agg, selection, dataset)
    section = Section(
        f"Table 2 — {title_of(dataset)}",
        "CelebA attribute classification accuracy (%) on the test set: w_k = difference of the mean "
        "μ with and without attribute k on the training set, a bias fitted by the hinge loss; ours "
        "(mean ± std over n seeds), then the paper's for the same configuration. The paper's 12 "
        f"attributes, four at a time; the CSV has every attribute. {BOLD_RULE} {options.protocol}".rstrip(),
        notes=notes,
    )
    if t2.empty:
        return section
    shown = [a for a in PAPER_ATTRIBUTES if a in t2.columns]
    labels = [[m, f"{n:.0f}"] for m, n in zip(t2["method"], t2["n"].fillna(0))]
    paper_labels = [[m, "paper"] for m in t2["method"]]
    tables = []
    for start in range(0, len(shown), TABLE2_WIDTH):
        columns = []
        for a in shown[start : start + TABLE2_WIDTH]:
            ours = list(t2[a]) + list(t2[f"paper.{a}"])
            stds = list(t2[f"{a}.std"]) + [float("nan")] * len(t2)
            columns.append(Column(a.replace("_", " "), ours, stds, 1, True))
        groups = ["ours"] * len(t2) + ["paper"] * len(t2)
        tables.append(Table(["Method", "n"], labels + paper_labels, columns, groups))
    _save_table(section, out, options, f"table2_{dataset}", t2, tables, f"tab:{options.run}-table2-{dataset}")
    return section


OVERVIEW_COLUMNS = 6  # configurations per table: wider would scroll on a page or a slide


def metric_rows(rows: pd.DataFrame, outputs: list[str], directions) -> list[Column]:
    """Per output (a table row), its mean ± std [interval] over each configuration of ``rows``:
    named in words with ↑/↓, accuracies in %."""
    found = []
    for output in outputs:
        scale = shown_output(output).to_percent or 1
        means = rows[f"{output}.mean"] * scale
        found.append(
            Column(
                heading(output, _higher(directions, output)),
                list(means),
                list(rows[f"{output}.std"] * scale),
                digits_for(means),
                _higher(directions, output),
                list(rows[f"{output}.ci_low"] * scale),
                list(rows[f"{output}.ci_high"] * scale),
            )
        )
    return found


def overview_html(agg: pd.DataFrame, outputs: list[str], directions) -> str:
    """Per dataset, metrics as rows in the paper's order and configurations as columns (n seeds
    in each heading), in tables of at most :data:`OVERVIEW_COLUMNS` configurations."""
    parts = []
    for dataset, rows in agg.groupby("dataset", sort=True):
        shown = [o for o in reading_order(outputs) if rows[f"{o}.mean"].notna().any()]
        ns = rows[[f"{o}.n" for o in shown]].max(axis=1).fillna(0) if shown else pd.Series(0, index=rows.index)
        parts.append(f"<h3>{html.escape(title_of(dataset))}</h3>")
        headers = [f"{label} (n = {n:.0f})" for label, n in zip(rows["label"], ns)]
        parts.append(rows_table_html("Metric", headers, metric_rows(rows, shown, directions), OVERVIEW_COLUMNS))
    return "".join(parts)


def overview_section(table: pd.DataFrame, agg: pd.DataFrame, out: Path, options, directions) -> Section:
    """Every value of every evaluation shown: mean ± std (n) of each headline output per
    configuration, and a violin grid of them per method variant."""
    values = [c[: -len(".mean")] for c in agg.columns if c.endswith(".mean") and c.count(".") == 2]
    headline = headline_outputs(values, directions)
    section = Section(
        "Every metric",
        "Each metric's headline outputs (those it declares which way is better, ↑ higher or ↓ lower; every "
        "output of a metric that declares none), in the paper's order of metrics, accuracies in %: mean ± std "
        f"over n seeds per configuration [{INTERVAL_RULE}], the best configuration of each row in bold where "
        "the metric says which way is better and it stands apart (its mean ± std does not overlap the "
        "runner-up's); below, a violin per method "
        "variant over all its trained models (every hyperparameter and seed, each a point). Every "
        "output, per-factor ones included, is in cells.csv (per model) and aggregate.csv (per "
        "configuration).",
        html=overview_html(agg, headline, directions),
    )
    higher = {o: _higher(directions, o) for o in headline}
    for dataset in sorted(set(table["dataset"])) if options.figures else []:
        image = figures.overview(table, headline, dataset, out, higher)
        if image:
            _files(section, [image])
    if "csv" in options.formats:
        section.files += ["cells.csv", "aggregate.csv"]
    return section


#: What Tables 3–4 hold, as the LaTeX puts it (a model's two matrices in one tabular).
CORRELATIONS_TEX = (
    "Pearson correlations of μ over the test set: latent × latent (top) and factor/attribute × latent (bottom)"
)


def correlation_latex(found: dict, caption: str, label: str, options) -> str:
    """Tables 3–4 as LaTeX: per model one tabular, its latent × latent matrix above its factor ×
    latent one (the same latent columns); as floats, one per model (the first with ``caption``
    and ``label``, the others ``label-2``, …), so that no float is taller than a page."""
    tabulars = []
    for model, (zz, zf, names) in found.items():
        latents = [f"z{i}" for i in range(zz.shape[0])]
        factors = [str(n).replace("_", " ") for n in names]  # CelebA's attributes as Table 2 names them
        tabulars.append(matrix_tabular(model, latents, [(latents, zz), (factors, zf.T)]))
    if options.standalone:
        return table_float(tabulars, caption, label, standalone=True)
    models = list(found)
    floats = [table_float(tabulars[:1], f"{CORRELATIONS_TEX}; {models[0]} here. {caption}", label)]
    for i, (model, block) in enumerate(zip(models[1:], tabulars[1:]), start=2):
        floats.append(table_float([block], f"{CORRELATIONS_TEX}: {model}.", f"{label}-{i}"))
    return "\n".join(floats)


def statistics_section(table: pd.DataFrame, selection, dataset: str, out: Path, options, directions) -> Section:
    """Whether differences are real: the methods compared pairwise on every headline output, and
    how alike the metrics rank the models (:mod:`benchbench.report.analysis`)."""
    rows = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    outputs = [o for o in headline_outputs(metric_columns(table), directions) if rows[o].notna().sum() >= 3]
    higher = {o: _higher(directions, o) for o in outputs if _higher(directions, o) is not None}
    agreement = metric_agreement(rows, outputs)
    words = shown_output(selection.select_by).words
    compared = comparisons(table, dataset, higher, selection.select_by, selection.higher, figures.words_of)
    shares = variance_shares(table, dataset, outputs)
    section = Section(
        f"Statistics — {title_of(dataset)}",
        "Is a method better here? Each pair of method variants on each headline output: P(A better) — "
        "the chance a model of A scores better than one of B, ties a half — and the two-sided p of "
        "its exact permutation test, over all their trained models (every configuration and seed) "
        f"and over the seeds of each variant's best configuration by its mean {words}; the "
        f"sentences below are for the {words}, every output is in the CSV. Do the "
        "metrics agree? Their Spearman rank correlation over the models (at least 3 models a pair). "
        "Seed or hyperparameter? Per method and output, the share of the variance over its models "
        "that lies between hyperparameter settings; the rest lies between seeds.",
    )
    chosen = compared[compared["output"] == selection.select_by] if not compared.empty else compared
    items = "".join(f"<li>{html.escape(scope)}: {html.escape(text)}</li>"
                    for scope, text in zip(chosen.get("scope", []), chosen.get("in words", [])))  # fmt: skip
    alike = agreeing_pairs(agreement, words=figures.words_of) if len(agreement) > 1 else []
    section.html = (f"<ul>{items}</ul>" if items else "") + (
        f"<p>Ranking the models alike (|ρ| ≥ 0.8): {html.escape('; '.join(alike))}.</p>" if alike else ""
    )
    if compared.empty:
        section.notes.append(f"{dataset}: fewer than two method variants with values: nothing to compare")
    if "csv" in options.formats:
        (out / "statistics").mkdir(exist_ok=True)
        compared.to_csv(out / "statistics" / f"comparisons_{dataset}.csv", index=False)
        agreement.to_csv(out / "statistics" / f"agreement_{dataset}.csv")
        shares.to_csv(out / "statistics" / f"variance_{dataset}.csv", index=False)
        section.files += [f"statistics/{n}_{dataset}.csv" for n in ("comparisons", "agreement", "variance")]
    if options.figures:
        _files(
            section,
            [i for i in (figures.agreement(agreement, dataset, out), figures.variance(shares, dataset, out)) if i],
        )
    return section


def along_training_section(along: pd.DataFrame, table: pd.DataFrame, dataset: str, out: Path, options, directions):
    """Each headline output against the training step, per configuration (mean over seeds), from
    the models its cells kept (``snapshots``) and their final ones; ``None`` for a dataset
    without snapshots."""
    models = along.merge(table[["cell", "dataset", "method", "variant", "label", "seed"]], on="cell")
    models = models[models["dataset"] == dataset]
    if models.empty:
        return None
    outputs = [
        o for o in reading_order(headline_outputs(metric_columns(models), directions)) if models[o].notna().any()
    ]
    models = models[["cell", "dataset", "method", "variant", "label", "seed", "step", *outputs]]
    name = f"along_training_{dataset}"
    section = Section(
        f"Metrics along training — {title_of(dataset)}",
        "Each headline output of the models kept along training (the grid's snapshots) and of the final "
        "models, against the step: per configuration the mean over its seeds (points: each model). "
        f"Every model's values are in {name}.csv. {options.protocol}".rstrip(),
    )
    if "csv" in options.formats:
        models.sort_values(["label", "seed", "step"]).to_csv(out / f"{name}.csv", index=False)
        section.files.append(f"{name}.csv")
    if options.figures and outputs:
        higher = {o: _higher(directions, o) for o in outputs}
        _files(section, [figures.along_training(models, outputs, dataset, out, higher)])
    return section


def claims_section(table: pd.DataFrame, agg: pd.DataFrame, out: Path, options, selection) -> Section:
    """The paper's claims, each with this run's evidence and a verdict (:mod:`benchbench.report.claims`)."""
    frame = claims_frame(check_claims(table, agg, selection))
    shown = frame.assign(dataset=frame["dataset"].map(title_of))
    section = Section(
        "The paper's claims",
        "Each claim of the paper as a statement this run can test, with the run's evidence and a "
        f"verdict. Supported: the means go the claimed way and every exact permutation test (two-sided, "
        f"between the models of each side; for a trend, Spearman's ρ over the models, one-sided) gives "
        f"p < {SIGNIFICANCE:g}. Not testable with this run: a configuration is missing, or with its "
        "seeds no outcome could reach that p. Not supported: otherwise. Similar reconstruction error: "
        f"a mean at most {SIMILAR:.0%} above the other's. DIP-VAE is Table 1's row of the paper's variant. "
        f"{options.protocol}".rstrip(),
        html=frame_html(shown.rename(columns=str.capitalize)),
    )
    if "csv" in options.formats:
        frame.to_csv(out / "claims.csv", index=False)
        section.files.append("claims.csv")
    return section


def _higher(directions, output: str) -> bool | None:
    found = direction(directions, output)
    return None if found is None else found == "higher"


def failures_section(run: RunStore, table: pd.DataFrame) -> Section | None:
    """Every cell that did not train: its configuration, status and reason."""
    rows = table[table["status"] != "trained"]
    if rows.empty:
        return None
    stores = {s.path.name: s for s in run.cell_stores()}
    reasons = [str(stores[c].status().error or "") if c in stores else "" for c in rows["cell"]]
    frame = rows[["cell", "dataset", "label", "seed", "status"]].assign(reason=reasons)
    return Section(
        "Cells not trained",
        "Cells that failed, diverged or have not finished: they are in no table or figure above.",
        html=frame_html(frame),
    )


def _how_to_show(shown: str, key: str) -> str:
    """The report option that shows evaluation ``key`` of ``shown``: a profile whose preset it is, else its key."""
    names = ["default", *declaration(metric_of(shown)).profiles] if metric_of(shown) in metrics else []
    matching = [f"--profile {p}" for p in names if profile_key(shown, p) == key]
    return " or ".join(matching + [f"--evaluation {shown}={key[:8]}"])


def evaluations_section(run: RunStore, keys: dict[str, str], notes: list[str], facts: dict[str, dict]) -> Section:
    """Which evaluation (metric + resolved options) every table and figure shows, and every other
    one the run holds with the option that would show it."""
    held, grid = held_evaluations(run), run.grid_evaluations()
    rows = []
    for shown, key in keys.items():
        options = held[(shown, key)]["options"] if (shown, key) in held else grid.get(shown, {}).get("options", {})
        rows.append(
            {
                "metric": shown,
                "key": key,
                "models": held.get((shown, key), {}).get("models", 0),
                "defaults": "yes" if facts[shown]["defaults"] else "no",
                "options": ", ".join(f"{k}={v}" for k, v in options.items()),
            }
        )
    frame = pd.DataFrame(rows, columns=["metric", "key", "models", "defaults", "options"])
    others = [
        {
            "metric": shown,
            "key": key,
            "models": entry["models"],
            "options": ", ".join(f"{k}={v}" for k, v in entry["options"].items()),
            "shown by": _how_to_show(shown, key),
        }
        for (shown, key), entry in sorted(held.items())
        if keys.get(shown) != key
    ]
    html = frame_html(frame)
    if others:
        html += "<p>Other evaluations this run holds, not shown above, and the report option that shows them:</p>"
        html += frame_html(pd.DataFrame(others))
    return Section(
        "Evaluations shown",
        "Each metric's evaluation in the tables and figures: its key (cells/<id>/evaluations/<metric>/<key>/), "
        "the models that have it, whether its options are the metric's defaults, and its resolved options.",
        html=html,
        notes=notes,
    )


def dataset_sections(run, table, agg, selection, keys, dataset, out, options) -> dict[str, list[Section]]:
    """Figure 1, Figure 2, Tables 3–4, traversals and curves of one dataset, by kind, so the
    page can put them in the paper's order."""
    cells = representative_cells(table, agg, selection, dataset)
    chosen = ", ".join(f"{label} = cell {cell}" for label, cell in cells.items()) or "none finished"
    single = f"One model per method: the lowest seed of each configuration ({chosen})."
    kinds: dict[str, list[Section]] = {}
    if dataset in SHAPES + CELEBA:
        found = figures.correlation_arrays(run.path, cells, keys)
        csvs = figures.correlation_tables(found, dataset, out) if "csv" in options.formats else []
        images = figures.correlations(found, dataset, out) if options.figures else []
        number = "4" if dataset in CELEBA else "3"
        section = Section(
            f"Table {number} — {title_of(dataset)}",
            "Pearson correlations of μ over the test set: latent × latent (first figure) and "
            f"factor/attribute × latent (second). {single} {options.protocol}".rstrip(),
            files=csvs,
            notes=[] if found else [f"{dataset}: no latent_correlation artifacts"],
        )
        if found and "latex" in options.formats:
            name = f"table{number}_{dataset}"
            label = f"tab:{options.run}-{name}"
            (out / f"{name}.tex").write_text(correlation_latex(found, f"{single} {options.protocol}", label, options))
            section.files.append(f"{name}.tex")
        _files(section, images)
        kinds["correlations"] = [section]
    if not options.figures:
        return kinds
    fig1 = figures.figure1(agg, dataset, out, options.logx)
    if fig1:
        section = Section(
            f"Figure 1 — {title_of(dataset)}",
            "Disentanglement metric score against reconstruction error (test), varying β for β-VAE "
            "(β = 1 is the VAE) and λ_od for each DIP-VAE variant; bars are ± std over seeds; each "
            "point is labelled with its β or λ_od; hollow circles are the paper's Table 1 values.",
        )
        _files(section, [fig1])
        kinds["figure1"] = [section]
    fig2 = figures.figure2(run.path, cells, keys, dataset, out) if dataset in CELEBA else None
    if fig2:
        section = Section(
            f"Figure 2 — {title_of(dataset)}",
            "For Bangs and Rosy Cheeks: the latent most correlated with the attribute, and that "
            "latent's signed correlation with the attribute (red) and with its four most "
            f"correlated other attributes (blue). {single}",
        )
        _files(section, [fig2])
        kinds["figure2"] = [section]
    try:
        data = datasets.get(dataset)()
        trav = figures.traversals(run.path, cells, data, dataset, out)
        trav_notes = [] if trav else [f"{dataset}: none of these cells has its model.pt (not kept with this run)"]
    except BenchbenchError as exc:
        trav, trav_notes = None, [f"latent traversals skipped: {exc}"]
    section = Section(
        f"Latent traversals — {title_of(dataset)}",
        "The first test image and its reconstruction (first row), then each latent set to −3 … 3 in "
        "turn (columns), decoder means, every tile at its native size (Tables 5–6 of the paper). Rows: "
        "the latents by mean KL over 256 test images, most informative first; those below "
        f"{figures.ACTIVE_KL:g} nats are marked inactive (the prior: their row shows nothing). {single}",
        notes=trav_notes,
    )
    _files(section, [trav] if trav else [])
    kinds["traversals"] = [section]
    curves = figures.training_curves(run.path, cells, dataset, out)
    if curves:
        section = Section(
            f"Training curves — {title_of(dataset)}",
            f"Every logged term (means over each logging interval) against the step. {single}",
        )
        _files(section, [curves])
        kinds["curves"] = [section]
    return kinds
