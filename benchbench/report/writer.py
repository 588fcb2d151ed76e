"""Writing a report: the run's tidy table, every section in the paper's order and the HTML page,
into a staging folder that replaces the previous report only once complete — so the output
folder holds exactly what this report wrote, and two reports of a run are byte-identical."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from benchbench.core.registry import BenchbenchError
from benchbench.report import figures
from benchbench.report.html import write_html
from benchbench.report.results import aggregate, described, evaluation_keys, snapshot_table, tidy
from benchbench.report.sections import (
    CELEBA,
    FORMATS,
    Options,
    Section,
    along_training_section,
    claims_section,
    dataset_sections,
    evaluations_section,
    failures_section,
    overview_section,
    statistics_section,
    table1_section,
    table2_section,
)
from benchbench.report.settings import header, protocol_note, protocol_warnings, run_study, training_settings
from benchbench.report.tables import TABLE1_DATASETS, Selection
from benchbench.storage.store import open_run

MARKER = ".benchbench-report"
#: The page's order of each dataset's sections: the paper's.
ORDER = ("figure1", "table2", "figure2", "correlations", "traversals", "curves")


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
) -> tuple[Path, list[str]]:
    """Write the report of the run at ``run_path`` into ``out`` (default ``<run>/report``), showing
    the evaluations ``evaluations`` picks (``{metric: key}``), else those of metric ``profile``,
    else the grid's; ``interval``: each mean's 95 % interval in the LaTeX tables too; ``study``:
    the study whose report to show (default: the run's, :func:`run_study`).  Returns the folder
    and the notes on evaluations left out."""
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
    if table.empty:
        raise BenchbenchError(f"run {run_path} has no cells yet")
    if not (table["status"] == "trained").any():
        counts = ", ".join(f"{n} {s}" for s, n in sorted(table["status"].value_counts().items()))
        raise BenchbenchError(f"run {run_path} has no trained model yet ({counts}): nothing to report")
    selection.check(table)
    options = Options(tuple(formats), standalone, logx, interval, run=run.path.name, study=chosen)
    staging = out.with_name(f".{out.name}.writing")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        _write(run, table, keys, facts, notes, selection, staging, options)
        _replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out, notes


def _write(run, table, keys, facts, notes, selection, out: Path, options: Options) -> None:
    training = training_settings(run)
    protocol = options.study.protocol if options.study else None
    options = dataclasses.replace(options, protocol=protocol_note(training, facts, protocol))
    with figures.footnote(options.protocol):
        _write_sections(run, table, keys, facts, notes, selection, out, options, training)


def _write_sections(run, table, keys, facts, notes, selection, out: Path, options: Options, training) -> None:
    agg = aggregate(table)
    (out / MARKER).write_text(f"benchbench report of run {run.path.name}\n")
    if "csv" in options.formats:
        table.to_csv(out / "cells.csv", index=False)
        agg.to_csv(out / "aggregate.csv", index=False)
    found = set(agg["dataset"]) if "dataset" in agg else set()
    present = [d for d in TABLE1_DATASETS if d in found] + sorted(found - set(TABLE1_DATASETS))  # the paper's order
    per_dataset = {d: dataset_sections(run, table, agg, selection, keys, d, out, options) for d in present}
    tables2 = [table2_section(agg, selection, d, out, options) for d in CELEBA if d in present]
    if not tables2:
        tables2 = [
            Section("Table 2", "CelebA attribute classification accuracy (%).", notes=["celeba: not in this run"])
        ]
    sections = [table1_section(agg, selection, out, options)]
    for kind in ORDER:
        if kind == "table2":
            sections += tables2
            continue
        sections += [s for d in present for s in per_dataset[d].get(kind, [])]
    sections.append(overview_section(table, agg, out, options, selection.directions))
    along = snapshot_table(run, keys)
    if not along.empty:
        made = (along_training_section(along, table, d, out, options, selection.directions) for d in present)
        sections += [s for s in made if s is not None]
    sections += [statistics_section(table, selection, d, out, options, selection.directions) for d in present]
    sections.append(claims_section(table, agg, out, options, selection))
    failures = failures_section(run, table)
    sections += [failures] if failures else []
    sections.append(evaluations_section(run, keys, notes, facts))
    if "html" in options.formats:
        written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MARKER)
        sections.append(Section("Files", "Everything this report wrote.", files=[*written, "index.html"]))
        protocol = options.study.protocol if options.study else None
        warnings = protocol_warnings(training, facts, protocol)
        write_html(
            out / "index.html", run.path.name, header(run, training, table, facts, options.study), warnings, sections
        )
