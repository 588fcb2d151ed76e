"""The sections every report has, whatever its study: the every-metric overview, the metrics
along training, the statistics, the study's claims judged, and the run's own accounting (cells
not trained, evaluations shown), built from the tidy table and its aggregate into files and HTML
fragments; and how a table is written (CSV, LaTeX, HTML) for them and for a study's own."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchbench.core.registry import metrics
from benchbench.plugin.metric import declaration, metric_of, shown_output
from benchbench.report import figures
from benchbench.report.analysis import agreeing_pairs, comparisons, metric_agreement, variance_shares
from benchbench.report.html import frame_html, rows_table_html, table_html
from benchbench.report.latex import matrix_tabular, table_float, tabular
from benchbench.report.numbers import Column, digits_for
from benchbench.report.parts import INTERVAL_RULE, Claim, Section, claims_frame, heading, title_of
from benchbench.report.results import direction, headline_outputs, held_evaluations, metric_columns, profile_key
from benchbench.report.tables import reading_order
from benchbench.storage.store import RunStore

#: What a report can write; the page shows the figures, so ``html`` draws them too.
FORMATS = ("csv", "latex", "figures", "html")


@dataclass
class Options:
    formats: tuple = FORMATS
    paper: bool = False  # paste-ready: short captions, the protocol as a table footnote, no figure footer
    standalone: bool = False
    logx: bool | None = None
    interval: bool = False  # each mean's 95 % interval in the LaTeX tables too
    protocol: str = ""  # how the run departs from the paper's protocol: said in every table's caption
    run: str = "benchbench"  # prefixes the LaTeX labels, so two runs' tables in one paper never collide
    study: Any = None  # the registered Study whose sections and claims the report shows (None: none)

    @property
    def metric_order(self) -> tuple[str, ...]:
        """The metrics its study's paper reports, in its order (tables read them first)."""
        return tuple(self.study.metric_order) if self.study else ()

    @property
    def figures(self) -> bool:
        """Whether to draw the figures: asked for, or shown by the page (drawing is most of a
        report's time)."""
        return "figures" in self.formats or "html" in self.formats


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
        paper = options.paper
        body = [
            tabular(t.label_headers, t.labels, t.columns, t.groups, options.interval and not paper, paper)
            for t in tables
        ]
        caption = paper_caption(section) if paper else section.caption
        note = options.protocol if paper else ""
        (out / f"{name}.tex").write_text(table_float(body, caption, label, options.standalone, note, paper))
        section.files.append(f"{name}.tex")
    section.html = "".join(table_html(t) for t in tables)


#: A name in code: dotted (``mig.mig``, ``a.csv``) or with underscores (``beta_vae_score``).
CODE_NAME = re.compile(r"`?\b[A-Za-z][\w@:]*(?:\.[\w@:]+)+\b`?|`?\b[a-z0-9]+(?:_[a-z0-9]+)+\b`?")


def paper_caption(section: Section) -> str:
    """The caption a paper prints: the section's ``short`` one, else its caption's first sentence,
    each name in code in words (an output as its metric declares it, ``under_scores`` spaced)."""
    if section.short:
        return section.short
    first = re.split(r"(?<=[.!?])\s", section.caption.strip(), maxsplit=1)[0]

    def words(match: re.Match) -> str:
        name = match.group(0).strip("`")
        shown = shown_output(name).words if "." in name else name
        return shown if shown != name else name.replace("_", " ").replace(".", " ")

    return CODE_NAME.sub(words, first)


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
    """Per dataset, metrics as rows in the order of ``outputs`` and configurations as columns (n
    seeds in each heading), in tables of at most :data:`OVERVIEW_COLUMNS` configurations."""
    parts = []
    for dataset, rows in agg.groupby("dataset", sort=True):
        shown = [o for o in outputs if rows[f"{o}.mean"].notna().any()]
        ns = rows[[f"{o}.n" for o in shown]].max(axis=1).fillna(0) if shown else pd.Series(0, index=rows.index)
        parts.append(f"<h3>{html.escape(title_of(dataset))}</h3>")
        headers = [f"{label} (n = {n:.0f})" for label, n in zip(rows["label"], ns)]
        parts.append(rows_table_html("Metric", headers, metric_rows(rows, shown, directions), OVERVIEW_COLUMNS))
    return "".join(parts)


def overview_section(table: pd.DataFrame, agg: pd.DataFrame, out: Path, options, directions) -> Section:
    """Every value of every evaluation shown: mean ± std (n) of each headline output per
    configuration, and a violin grid of them per method variant."""
    values = [c[: -len(".mean")] for c in agg.columns if c.endswith(".mean") and c.count(".") == 2]
    headline = reading_order(headline_outputs(values, directions), options.metric_order)
    order = "in the paper's order of metrics" if options.metric_order else "metrics by name"
    section = Section(
        "Every metric",
        "Each metric's headline outputs (those it declares which way is better, ↑ higher or ↓ lower; every "
        f"output of a metric that declares none), {order}, accuracies in %: mean ± std "
        f"over n seeds per configuration [{INTERVAL_RULE}], the best configuration of each row in bold where "
        "the metric says which way is better and it stands apart (its mean ± std does not overlap the "
        "runner-up's); below, a violin per method "
        "variant over all its trained models (every hyperparameter and seed, each a point). Every "
        "output, per-factor ones included, is in cells.csv (per model) and aggregate.csv (per "
        "configuration), each stored as its metric returns it; columns.csv gives each column's unit.",
        html=overview_html(agg, headline, directions),
    )
    higher = {o: _higher(directions, o) for o in headline}
    for dataset in sorted(set(table["dataset"])) if options.figures else []:
        image = figures.overview(table, headline, dataset, out, higher)
        if image:
            _files(section, [image])
    if "csv" in options.formats:
        section.files += ["cells.csv", "aggregate.csv", "columns.csv"]
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
    paper = options.paper  # what the matrices are and whose, in two lines; how the run was made, under the first
    caption, note = ("", options.protocol) if paper else (caption, "")
    if options.standalone:
        return table_float(tabulars, caption, label, True, note)
    models = list(found)
    first = f"{CORRELATIONS_TEX}; {models[0]} here. {caption}".strip()
    floats = [table_float(tabulars[:1], first, label, note=note, paper=paper)]
    for i, (model, block) in enumerate(zip(models[1:], tabulars[1:]), start=2):
        floats.append(table_float([block], f"{CORRELATIONS_TEX}: {model}.", f"{label}-{i}", paper=paper))
    return "\n".join(floats)


#: The fewest models over which the metrics' rank agreement is shown: with fewer, ρ takes a
#: handful of values (±1 and ±0.5 with 3 models) and says next to nothing of how they agree.
AGREEMENT_MODELS = 8


def statistics_section(table: pd.DataFrame, selection, dataset: str, out: Path, options, directions) -> Section:
    """Whether differences are real: the methods compared pairwise on every headline output, how
    alike the metrics rank the models (over :data:`AGREEMENT_MODELS` or more) and how the
    variance splits between settings and seeds (where a method has two settings or more) —
    :mod:`benchbench.report.analysis`."""
    rows = table[(table["dataset"] == dataset) & (table["status"] == "trained")]
    outputs = [o for o in headline_outputs(metric_columns(table), directions) if rows[o].notna().sum() >= 3]
    higher = {o: _higher(directions, o) for o in outputs if _higher(directions, o) is not None}
    few = len(rows) < AGREEMENT_MODELS
    agreement = metric_agreement(rows, [] if few else outputs)
    words = shown_output(selection.select_by).words if selection.select_by else "selection output"
    compared = comparisons(table, dataset, higher, selection.select_by, selection.higher, figures.words_of)
    shares = variance_shares(table, dataset, outputs)
    split = shares[shares["configurations"] >= 2] if not shares.empty else shares
    section = Section(
        f"Statistics — {title_of(dataset)}",
        "Is a method better here? Each pair of method variants on each headline output: P(A better) — "
        "the chance a model of A scores better than one of B, ties a half — and the two-sided p of "
        "its exact permutation test, over all their trained models (every configuration and seed) "
        f"and over the seeds of each variant's best configuration by its mean {words}; the "
        f"sentences below are for the {words}, every output is in the CSV. Do the "
        f"metrics agree? Their Spearman rank correlation over the models (shown from {AGREEMENT_MODELS} models). "
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
    if few:
        section.html += (f"<p>The metrics' agreement is not shown: {len(rows)} trained models, where ranking them "
                         f"alike or not needs {AGREEMENT_MODELS} or more to mean more than chance.</p>")  # fmt: skip
    if split.empty and not shares.empty:
        section.html += ("<p>No variance split: each method has one hyperparameter setting here, so all of "
                         "its variance lies between seeds.</p>")  # fmt: skip
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
            [i for i in (figures.agreement(agreement, dataset, out), figures.variance(split, dataset, out)) if i],
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
        o
        for o in reading_order(headline_outputs(metric_columns(models), directions), options.metric_order)
        if models[o].notna().any()
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


def claims_section(claims: list[Claim], out: Path, options) -> Section:
    """The study's claims, each with this run's evidence and a verdict, and the rule its verdicts
    follow (the study's ``claims_rule``)."""
    frame = claims_frame(claims)
    shown = frame.assign(dataset=frame["dataset"].map(title_of))
    rule = options.study.claims_rule if options.study else ""
    section = Section(
        "The paper's claims",
        " ".join(
            part
            for part in (
                "Each claim of the paper as a statement this run can test, with the run's evidence and a verdict.",
                rule,
                options.protocol,
            )
            if part
        ),
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
