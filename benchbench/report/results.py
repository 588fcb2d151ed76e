"""Run-level queries: what a run holds, counted and tabulated — the one place ``status``,
``report`` and ``compare`` read a run's results from.

:func:`results_table` is a row per cell with the evaluations :func:`evaluation_keys` picks per
metric; :func:`tidy` adds each cell's method variant and configuration label, :func:`aggregate`
the mean, std and n over seeds.  Which way each metric output is better is read from the run's
own records (:func:`directions`), so a report is the same whichever plugins are loaded.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchbench.core.records import STATUSES
from benchbench.core.registry import BenchbenchError, metrics
from benchbench.plugin.metric import (
    check_profile,
    declaration,
    declared_directions,
    metric_of,
    shown_name,
    shown_output,
)
from benchbench.report.analysis import bootstrap_interval
from benchbench.report.parts import method_title
from benchbench.storage.store import CellStore, RunStore


def problems(run: RunStore) -> tuple[list[str], list[str]]:
    """``(damaged, missing)``: cell folders left out (config unreadable or not matching the
    folder) and cells of the manifest with no folder at all."""
    cells_dir = run.path / "cells"
    folders = sorted(p for p in cells_dir.iterdir() if p.is_dir()) if cells_dir.is_dir() else []
    damaged = [p.name for p in folders if CellStore(p).verified_cell() is None]
    present = {p.name for p in folders}
    missing = [c for c in run.manifest().cells if c not in present]
    return damaged, missing


def held_evaluations(run: RunStore) -> dict[tuple[str, str], dict[str, Any]]:
    """Every evaluation a run holds done, by ``(shown name, key)``: its resolved options and how
    many models have it."""
    held: dict[tuple[str, str], dict[str, Any]] = {}
    for store in run.cell_stores():
        for record in store.evaluations():
            if record.done:
                entry = held.setdefault(
                    (shown_name(record.metric, record.options), record.key),
                    {"options": record.options, "models": 0},
                )
                entry["models"] += 1
    return held


def profile_key(shown: str, profile: str) -> str | None:
    """The key of metric ``shown``'s evaluation with preset ``profile`` and otherwise its defaults
    (what ``evaluate --profile`` computes), or ``None`` when the metric is not loaded."""
    if metric_of(shown) not in metrics:
        return None
    representation = shown.partition("@")[2]
    sampled = {"representation": representation} if representation else {}
    return declaration(metric_of(shown)).evaluation(sampled, profile=profile).key


def evaluation_keys(
    run: RunStore, chosen: dict[str, str] | None = None, profile: str | None = None
) -> tuple[dict[str, str], list[str]]:
    """Which evaluation of each metric tables show, by the name tables give it
    (:func:`benchbench.plugin.metric.shown_name`: mean and sampled codes apart): ``chosen``
    (``{name: key or key prefix}``), else ``profile``'s (the preset's options, as ``evaluate
    --profile`` computes them), else the grid's, else the only one there is.  A metric
    evaluated with several option sets and none of them chosen is left out with a note, never
    mixed.  Returns ``(keys, notes)``."""
    found: dict[str, set[str]] = {}
    for shown, key in held_evaluations(run):
        found.setdefault(shown, set()).add(key)
    grid = run.grid_evaluations()
    keys, notes = {}, []
    for metric, wanted in (chosen or {}).items():
        matches = sorted(k for k in found.get(metric, ()) if k.startswith(wanted))
        if len(matches) != 1:
            have = ", ".join(sorted(found.get(metric, ()))) or "none"
            problem = "matches several" if matches else "matches no evaluation"
            raise BenchbenchError(f"--evaluation {metric}={wanted}: {problem} of this run (keys: {have})")
        keys[metric] = matches[0]
    if profile is not None:
        check_profile(profile, [m for m in {metric_of(s) for s in found} if m in metrics])
        for metric in sorted(set(found) - set(keys)):
            key = profile_key(metric, profile)
            if key in found[metric]:
                keys[metric] = key
            else:
                notes.append(f"{metric}: no evaluation with the {profile!r} profile in this run; shows the grid's")
    for metric in sorted(set(found) | set(grid)):
        if metric in keys:
            continue
        if metric in grid:
            keys[metric] = grid[metric]["key"]
        elif len(found[metric]) == 1:
            keys[metric] = next(iter(found[metric]))
        else:
            options = ", ".join(sorted(found[metric]))
            notes.append(
                f"{metric}: evaluated with {len(found[metric])} option sets ({options}) and none is the grid's; "
                f"left out: pick one with --evaluation {metric}=KEY"
            )
    return keys, notes


def status_counts(run: RunStore, verify: bool = False) -> dict[str, Any]:
    """Models per training status (``interrupted``: running, but no writer holds the run;
    ``without weights``: trained, but its model or curve is missing or not as written — with
    ``verify``, byte for byte — each said in a ``warning:`` line; ``snapshots``: the earlier
    models the trained cells kept); evaluations done / failed / not applicable / missing (the
    grid's evaluations a trained model or snapshot lacks, a damaged one among them);
    ``failures``: ``(cell label, what, error)``; and ``weights``: ``False`` for a run kept
    without its weights (each model counted ``without weights`` once, not as damage)."""
    models = dict.fromkeys((*STATUSES, "interrupted", "without weights", "snapshots"), 0)
    weights = not run.keeps_no_weights()
    evals = dict.fromkeys(("done", "failed", "not_applicable", "missing"), 0)
    failures = []
    grid = run.grid_evaluations()
    writing = run.is_being_written()
    for store in run.cell_stores():
        status, label = store.status(), store.cell().label
        running_nowhere = status.status == "running" and not writing
        models["interrupted" if running_nowhere else status.status] += 1
        if status.status in ("failed", "diverged"):
            failures.append((label, status.status, status.error or ""))
        kept = store.snapshots() if status.status == "trained" else []
        models["snapshots"] += len(kept)
        asked = _asked(store, grid)
        for model in [store, *kept]:
            records, name = model.evaluations(verify), label if model.step is None else f"{label} at step {model.step}"
            for record in records:
                evals[record.status] += 1
                if record.status == "failed":
                    failures.append((name, f"evaluation {record.metric} failed", record.error or ""))
            if status.status == "trained":
                have = {(r.metric, r.key) for r in records}
                evals["missing"] += sum((e["metric"], e["key"]) not in have for e in asked)
        damage = store.damaged_files(verify, weights)
        models["without weights"] += status.status == "trained" and not weights and not store.has_model()
        if damage:
            models["without weights"] += 1
            fix = "rerun the run's grid to retrain it" if store.restorable() else "delete its folder to retrain it"
            failures += [(label, "without weights", f"{p}: {fix}") for p in damage]
        if running_nowhere:
            failures.append((label, "interrupted", "run the same command to resume"))
    damaged, missing = problems(run)
    failures += [(f"cell {c}", "damaged", "config unreadable or not matching its folder: left out") for c in damaged]
    failures += [(f"cell {c}", "missing", "in the manifest but its folder is gone: rerun to train it") for c in missing]
    models.update(damaged=len(damaged), missing=len(missing))
    return {"models": models, "evaluations": evals, "failures": failures, "weights": weights}


def _asked(store: CellStore, grid: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The evaluations a model was asked for: its run's grid's, or, for a scored encoder, those
    its own ``score`` commands asked (records written before they were kept: the run's)."""
    scored = store.scored()
    if scored is None or scored.evaluations is None:
        return list(grid.values())
    return [e for e in grid.values() if e["key"] in scored.evaluations]


def results_table(run: RunStore, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per cell: dataset, method, hyperparameters, seed, training status (``interrupted``
    as :func:`status_counts` says it) and every
    scalar value (columns ``metric.value``) of the evaluations ``keys`` picks per metric
    (default: :func:`evaluation_keys`)."""
    if keys is None:
        keys = evaluation_keys(run)[0]
    rows, writing, weights = [], run.is_being_written(), not run.keeps_no_weights()
    for store in run.cell_stores():
        cell, status = store.cell(), store.status().status
        row = {"cell": cell.id, "dataset": cell.dataset, "method": cell.method}
        row.update({f"hp.{k}": v for k, v in cell.hyperparameters.items()})
        row.update(seed=cell.seed, status="interrupted" if status == "running" and not writing else status)
        store.damaged_files(weights=weights)  # said, once: a table of a run whose model was damaged since
        rows.append({**row, **_values(store, keys)})
    table = pd.DataFrame(rows, columns=None if rows else ["cell", "dataset", "method", "seed", "status"])
    hp = sorted(c for c in table.columns if c.startswith("hp."))
    front = ["cell", "dataset", "method", *hp, "seed", "status"]
    return table[[c for c in front if c in table] + [c for c in table if c not in front]]


def _values(store: CellStore, keys: dict[str, str]) -> dict[str, float]:
    """Every scalar value (``metric.value``) of the model's evaluations that ``keys`` picks."""
    row = {}
    for shown, key in keys.items():
        record = store.evaluation(metric_of(shown), key)
        if record and record.done:
            row.update({f"{shown}.{k}": v for k, v in record.values.items()})
    return row


def snapshot_table(run: RunStore, keys: dict[str, str]) -> pd.DataFrame:
    """One row per model along training: each kept snapshot, then the final model (at the
    cell's last step), of every trained cell that keeps snapshots — ``cell``, ``step`` and the
    values of the evaluations ``keys`` picks; empty when no cell keeps any."""
    rows = []
    for store in run.cell_stores():
        cell = store.cell()  # read once, not once per model
        if cell.snapshots and store.status().status == "trained":
            rows += [{"cell": cell.id, "step": m.step or cell.steps, **_values(m, keys)} for m in store.models()]
    return pd.DataFrame(rows, columns=None if rows else ["cell", "step"])


def hp_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("hp.")]


def string_hp_columns(table: pd.DataFrame) -> list[str]:
    """Hyperparameters whose values are strings: they make a method's variants."""
    return [c for c in hp_columns(table) if table[c].map(lambda v: isinstance(v, str)).any()]


FIXED = ("cell", "dataset", "method", "seed", "status", "variant", "label")


def metric_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in FIXED and not c.startswith("hp.")]


def _varying(table: pd.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Per method, the given columns that take more than one value among its cells."""
    return {method: [c for c in columns if rows[c].dropna().nunique() > 1] for method, rows in table.groupby("method")}


#: Hyperparameters in the paper's notation.
HP_NAMES = {"beta": "β", "lambda_od": "λ_od", "lambda_d": "λ_d"}


def _hp_text(key: str, value) -> str:
    name = key.removeprefix("hp.")
    name = HP_NAMES.get(name, name)
    return f"{name} = {value:g}" if isinstance(value, float) else f"{name} = {value}"


def tidy(run: RunStore, keys: dict[str, str] | None = None) -> pd.DataFrame:
    """A row per cell of the run, with the evaluations ``keys`` picks (see
    :func:`benchbench.storage.store.results_table`), its variant (method and the string hyperparameters
    that vary in the run) and a label unique to its configuration."""
    table = results_table(run, keys)
    strings = _varying(table, string_hp_columns(table))
    numbers = _varying(table, [c for c in hp_columns(table) if c not in string_hp_columns(table)])

    def label(row, columns) -> str:
        parts = [_hp_text(c, row[c]) for c in columns.get(row["method"], []) if pd.notna(row[c])]
        name = method_title(row["method"])
        return f"{name} ({', '.join(parts)})" if parts else name

    table.insert(3, "variant", [label(r, strings) for _, r in table.iterrows()])
    both = {m: strings.get(m, []) + numbers.get(m, []) for m in set(strings) | set(numbers)}
    table.insert(4, "label", [label(r, both) for _, r in table.iterrows()])
    return table


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, std (ddof 1), n and the 95 % bootstrap interval of the mean over the seeds of each
    trained configuration; columns ``<metric>.mean``, ``<metric>.std``, ``<metric>.n`` (the
    seeds with that value), ``<metric>.ci_low``, ``<metric>.ci_high`` (NaN below 3 seeds)."""
    done = table[table["status"] == "trained"]
    keys = ["dataset", "method", "variant", *hp_columns(table), "label"]  # sorted by numbers, not text
    if done.empty:
        return pd.DataFrame(columns=keys)
    if not metric_columns(table):  # trained, never evaluated: its configurations, nothing to average
        return done[keys].drop_duplicates().sort_values(keys, na_position="last").reset_index(drop=True)
    outputs = metric_columns(table)
    grouped = done.groupby(keys, dropna=False, sort=True)[outputs]
    stats = grouped.agg(["mean", "std", "count"])
    intervals = grouped.agg(bootstrap_interval)  # one bootstrap per group and output: (low, high)
    ends = {
        (output, end): [interval[i] for interval in intervals[output]]
        for output in outputs
        for i, end in enumerate(("ci_low", "ci_high"))
    }
    stats = pd.concat([stats, pd.DataFrame(ends, index=stats.index)], axis=1)  # at once: no fragmented frame
    stats = stats[[(o, s) for o in outputs for s in ("mean", "std", "count", "ci_low", "ci_high")]]
    stats.columns = [f"{m}.{'n' if s == 'count' else s}" for m, s in stats.columns]
    return stats.copy().reset_index()  # copy: one block, not one per output (many outputs fragment it)


def described(run: RunStore, keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``{metric: {"better": {output: "higher" | "lower"}, "defaults": bool}}`` for the evaluations
    ``keys`` shows, as the run recorded them — in the evaluations' records, else in the manifest —
    so a report reads the same whichever plugins are loaded.  Only a run written before they were
    recorded falls back to the metric as registered here."""
    manifest = {(e["metric"], e["key"]): e for e in run.manifest().evaluations}
    stores, found = run.cell_stores(), {}
    for shown, key in keys.items():
        name = metric_of(shown)
        records = (store.evaluation(name, key) for store in stores)
        record = next((r for r in records if r is not None and r.better is not None), None)
        entry = manifest.get((name, key), {})
        if record is not None:
            found[shown] = {"better": record.better, "defaults": record.defaults}
        elif "better" in entry:
            found[shown] = {"better": entry["better"], "defaults": entry["defaults"]}
        else:  # written before these were recorded
            default = name in metrics and declaration(name).evaluation().key == key
            found[shown] = {"better": declared_directions(name), "defaults": default}
    return found


def direction(directions: dict[str, dict[str, str]], output: str) -> str | None:
    """``"higher"`` or ``"lower"`` for a ``metric.output`` column; ``None`` if undeclared."""
    metric, _, name = output.partition(".")
    return directions.get(metric, {}).get(name)


def headline_outputs(columns, directions: dict[str, dict[str, str]]) -> list[str]:
    """The ``metric.output`` columns the overview shows, in the order given: those a metric
    declares a direction for (see :func:`benchbench.plugin.metric.better`), or every output of a
    metric that declares none (a plugin's)."""
    outputs = [c for c in columns if c.count(".") == 1]
    declared = {c.split(".")[0] for c in outputs if direction(directions, c) is not None}
    return [c for c in outputs if c.split(".")[0] not in declared or direction(directions, c) is not None]


def ranked_outputs(columns, directions: dict[str, dict[str, str]]) -> list[str]:
    """The ``metric.output`` columns whose metric declares which way they are better."""
    return [c for c in columns if c.count(".") == 1 and direction(directions, c) is not None]


#: What the columns of ``cells.csv`` and ``aggregate.csv`` that are not evaluations hold.
FIXED_MEANINGS = {
    "cell": "the model's id: a hash of its training config",
    "dataset": "the dataset it was trained on",
    "method": "its method, as registered",
    "seed": "its training seed",
    "status": "trained, failed, interrupted, running or pending",
    "variant": "its method and the string hyperparameters that vary in the run",
    "label": "its configuration, unique in the run",
}
#: The statistics ``aggregate`` writes per output: (suffix, what it is, whether in the output's unit).
STATISTICS = (
    ("mean", "mean over seeds", True),
    ("std", "std over seeds (ddof 1)", True),
    ("n", "seeds with a value (count)", False),
    ("ci_low", "95 % bootstrap interval of the mean, low end", True),
    ("ci_high", "95 % bootstrap interval of the mean, high end", True),
)


def _unit(output: str) -> str:
    """An evaluation column's unit as stored: ``%``, a fraction (an accuracy the report's tables
    show ×100) or as the metric defines it."""
    to_percent = shown_output(output).to_percent
    if to_percent is None:
        return "as the metric defines (docs/metrics.md)"
    return "%" if to_percent == 1 else "fraction (the report's tables show it in %)"


def column_units(table: pd.DataFrame, agg: pd.DataFrame, directions: dict[str, dict[str, str]]) -> pd.DataFrame:
    """A row per column of ``cells.csv`` (``table``) and ``aggregate.csv`` (``agg``): its file, what
    it holds, its unit and which way is better — so a reader of the CSVs knows that 43.4 (Higgins,
    stored in %) and 0.272 (the FactorVAE score, stored as a fraction) are both accuracies."""
    rows = []

    def described(column: str, file: str) -> dict[str, str]:
        stat = next((s for s in STATISTICS if file == "aggregate.csv" and column.endswith(f".{s[0]}")), None)
        output = column[: -len(stat[0]) - 1] if stat else column
        if column in FIXED_MEANINGS:
            return {"holds": FIXED_MEANINGS[column], "unit": "", "better": ""}
        if output.startswith("hp."):
            return {"holds": f"hyperparameter {output[3:]}", "unit": "", "better": ""}
        holds = f"{shown_output(output).words}" + (f": {stat[1]}" if stat else "")
        unit = _unit(output) if stat is None or stat[2] else "count"
        ranked = stat is None or stat[0] in ("mean", "ci_low", "ci_high")
        return {"holds": holds, "unit": unit, "better": (direction(directions, output) or "") if ranked else ""}

    for file, frame in (("cells.csv", table), ("aggregate.csv", agg)):
        rows += [{"file": file, "column": c, **described(c, file)} for c in frame.columns]
    return pd.DataFrame(rows, columns=["file", "column", "holds", "unit", "better"])
