"""Writing a report: the run's tidy table, its study's sections in the study's order, the
sections every report has and the HTML page, into a staging folder that replaces the previous
report only once complete — so the output folder holds exactly what this report wrote, and two
reports of a run are byte-identical."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from benchbench.core.registry import BenchbenchError
from benchbench.report import figures
from benchbench.report.html import write_html
from benchbench.report.parts import Section
from benchbench.report.results import aggregate, column_units, described, evaluation_keys, snapshot_table, tidy
from benchbench.report.sections import (
    FORMATS,
    Options,
    along_training_section,
    claims_section,
    evaluations_section,
    failures_section,
    overview_section,
    statistics_section,
)
from benchbench.report.settings import header, protocol_note, protocol_warnings, run_study, training_settings
from benchbench.report.tables import Selection
from benchbench.report.view import ReportView
from benchbench.storage.store import open_run

MARKER = ".benchbench-report"


def _replace(staging: Path, out: Path) -> None:
    """Put the finished report at ``out``, removing the previous one only now."""
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _check_out(out: Path, default: Path) -> None:
    if out.exists() and not out.is_dir():
        raise BenchbenchError(f"--out {out}: is a file")
    if out.exists() and out != default and any(out.iterdir()) and not (out / MARKER).exists():
        raise BenchbenchError(f"--out {out}: not empty and not a benchbench report folder; choose another")


def make_report(
    run_path: Path,
    out: Path | None = None,
    formats=FORMATS,
    selection: Selection | None = None,
    evaluations: dict[str, str] | None = None,
    standalone: bool = False,
    logx: bool | None = None,
    profile: str | None = None,
    interval: bool = False,
    study: str | None = None,
    paper: bool = False,
) -> tuple[Path, list[str], list[str]]:
    """Write the report of the run at ``run_path`` into ``out`` (default ``<run>/report``), showing
    the evaluations ``evaluations`` picks (``{metric: key}``), else those of metric ``profile``,
    else the grid's; ``interval``: each mean's 95 % interval in the LaTeX tables too; ``study``:
    the study whose report to show (default: the run's, :func:`run_study`); ``paper``: LaTeX and
    figures to paste into a paper (:func:`~benchbench.report.sections.paper_caption`, the
    protocol as each table's footnote, figures without it under them).  Returns the folder,
    the notes on evaluations left out, and the lines the study has for the terminal."""
    run = open_run(run_path)
    chosen = run_study(run, study)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise BenchbenchError(f"unknown format {sorted(unknown)[0]!r} (known: {', '.join(FORMATS)})")
    default = run.path / "report"
    out = Path(out or default).absolute()
    _check_out(out, default.absolute())
    keys, notes = evaluation_keys(run, evaluations, profile)
    facts = described(run, keys)
    selection = dataclasses.replace(selection or Selection(), directions={m: f["better"] for m, f in facts.items()})
    table = tidy(run, keys)
    selection.defaulted(chosen.select_by if chosen else None, table)
    if table.empty:
        raise BenchbenchError(f"run {run_path} has no cells yet")
    if not (table["status"] == "trained").any():
        counts = ", ".join(f"{n} {s}" for s, n in sorted(table["status"].value_counts().items()))
        raise BenchbenchError(f"run {run_path} has no trained model yet ({counts}): nothing to report")
    selection.check(table)
    options = Options(tuple(formats), paper, standalone, logx, interval, run=run.path.name, study=chosen)
    staging = out.with_name(f".{out.name}.writing")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        said = _write(run, table, keys, facts, notes, selection, staging, options)
        _replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out, notes, said


def _write(run, table, keys, facts, notes, selection, out: Path, options: Options) -> list[str]:
    training = training_settings(run)
    protocol = options.study.protocol if options.study else None
    options = dataclasses.replace(options, protocol=protocol_note(training, facts, protocol, not options.paper))
    with figures.footnote("" if options.paper else options.protocol):  # a paper says it in its text
        return _write_sections(run, table, keys, facts, notes, selection, out, options, training)


def _write_sections(run, table, keys, facts, notes, selection, out: Path, options: Options, training) -> list[str]:
    agg = aggregate(table)
    (out / MARKER).write_text(f"benchbench report of run {run.path.name}\n")
    if "csv" in options.formats:
        table.to_csv(out / "cells.csv", index=False)
        agg.to_csv(out / "aggregate.csv", index=False)
        column_units(table, agg, selection.directions).to_csv(out / "columns.csv", index=False)
    found = set(agg["dataset"]) if "dataset" in agg else set()
    first = [d for d in (options.study.dataset_order if options.study else ()) if d in found]
    present = first + sorted(found - set(first))  # the study's order, then the others by name
    view = ReportView(run, table, agg, keys, selection, out, options, present)
    sections = list(options.study.sections(view) if options.study else view.default_sections())
    sections.append(overview_section(table, agg, out, options, selection.directions))
    along = snapshot_table(run, keys)
    if not along.empty:
        made = (along_training_section(along, table, d, out, options, selection.directions) for d in present)
        sections += [s for s in made if s is not None]
    sections += [statistics_section(table, selection, d, out, options, selection.directions) for d in present]
    claims = options.study.claims(view) if options.study else []
    if claims:
        sections.append(claims_section(claims, out, options))
    failures = failures_section(run, table)
    sections += [failures] if failures else []
    sections.append(evaluations_section(run, keys, notes, facts))
    if "html" in options.formats:
        written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MARKER)
        sections.append(Section("Files", "Everything this report wrote.", files=[*written, "index.html"]))
        protocol = options.study.protocol if options.study else None
        warnings = protocol_warnings(training, facts, protocol)
        lines = header(run, training, table, facts, options.study)
        write_html(out / "index.html", run.path.name, lines, warnings, sections)
    return view.said
