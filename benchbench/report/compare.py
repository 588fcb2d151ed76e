"""``benchbench compare RUN_A RUN_B``: the same models (same cell id, i.e. the same training
config) in two runs, every metric output side by side, and a verdict per output.

Verdicts, in order: *identical* (every value equal, bit for bit), *within float rounding* (every
|difference| ≤ :data:`ROUNDING` times the larger |value|: what summing in another order can do to
a float32 result — another CPU thread count, another machine), *within tolerance* (largest
|difference| ≤ ``--tolerance``), *within the seeds' spread* (every |difference| ≤ the std over
seeds of that configuration in RUN_A), *differs*.  Only evaluations with the same key (metric
and resolved options) are compared — a run of an older layout by the key this layout gives it,
so a run not yet converted compares with one that is; a metric shown with different options in
the two runs is named, not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchbench.core.records import LAYOUT
from benchbench.core.registry import BenchbenchError
from benchbench.plugin.metric import metric_of
from benchbench.report.results import aggregate, evaluation_keys, held_evaluations, metric_columns, tidy
from benchbench.storage.migrate import current_key
from benchbench.storage.store import RunStore, open_run

#: Relative difference that float rounding alone explains: ~8 units in the last place of float32.
ROUNDING = 1e-6


@dataclass
class Verdict:
    """One output's verdict over the models with a value in both runs, and how many models
    have a value in one run only (``missing``: in A, in B) — said, never counted as a Δ."""

    output: str
    verdict: str
    max_difference: float
    cells: int
    missing: tuple[int, int] = (0, 0)

    def line(self) -> str:
        compared = f"max |Δ| = {self.max_difference:.3g} over {self.cells} models" if self.cells else "no model in both"
        lacking = [f"missing in {run} for {n}" for run, n in zip("AB", self.missing) if n]
        return f"{self.output}: {self.verdict} ({'; '.join([compared, *lacking])})"


def _spread(table: pd.DataFrame, output: str) -> pd.Series:
    """Per cell, the std over seeds of its configuration's ``output`` (NaN with one seed)."""
    agg = aggregate(table)
    if f"{output}.std" not in agg:
        return pd.Series(np.nan, index=table["cell"])
    std = agg.set_index(["dataset", "label"])[f"{output}.std"]
    keys = list(zip(table["dataset"], table["label"]))
    return pd.Series([std.get(k, np.nan) for k in keys], index=table["cell"].values)


def _current_keys(run: RunStore, keys: dict[str, str]) -> dict[str, str]:
    """``keys`` as this layout keys those evaluations (an older run's re-keyed from their options)."""
    if run.manifest().layout == LAYOUT:
        return keys
    held = held_evaluations(run)
    options = {shown: held.get((shown, key), {}).get("options") for shown, key in keys.items()}
    return {s: k if options[s] is None else current_key(metric_of(s), options[s], k) for s, k in keys.items()}


def compare_runs(path_a: Path, path_b: Path, tolerance: float = 0.0):
    """Returns ``(side_by_side, verdicts, notes)``: a row per (cell, output) present in both runs
    with ``a``, ``b`` and ``difference``; a :class:`Verdict` per output; notes on what was not
    compared."""
    run_a, run_b = open_run(path_a), open_run(path_b)
    keys_a, keys_b = evaluation_keys(run_a)[0], evaluation_keys(run_b)[0]
    same_a, same_b = _current_keys(run_a, keys_a), _current_keys(run_b, keys_b)
    shared = [m for m in keys_a if m in keys_b and same_a[m] == same_b[m]]
    notes = [
        f"{m}: not compared, its evaluations differ ({keys_a[m]} in A, {keys_b[m]} in B)"
        for m in sorted(set(keys_a) & set(keys_b) - set(shared))
    ]
    notes += [f"{m}: only in one run" for m in sorted(set(keys_a) ^ set(keys_b))]
    table_a, table_b = (tidy(run, {m: keys[m] for m in shared}) for run, keys in ((run_a, keys_a), (run_b, keys_b)))
    common = sorted(set(table_a["cell"]) & set(table_b["cell"]))
    if not common:
        raise BenchbenchError(f"{path_a} and {path_b} share no cell: no model was trained with the same config in both")
    notes += [
        f"{n} cells only in {which}"
        for which, t in (("A", table_a), ("B", table_b))
        if (n := len(set(t["cell"]) - set(common)))
    ]
    trained = set(table_a.loc[table_a["status"] == "trained", "cell"]) & set(
        table_b.loc[table_b["status"] == "trained", "cell"]
    )
    if untrained := [c for c in common if c not in trained]:  # an interrupted run's pending cells
        notes.append(f"{len(untrained)} shared cells not trained in both runs: not compared")
        common = [c for c in common if c in trained] or common
    a = table_a.set_index("cell").loc[common]
    b = table_b.set_index("cell").loc[common]
    outputs = [c for c in metric_columns(table_a) if c in b.columns]
    rows, verdicts = [], []
    for output in outputs:
        va, vb = a[output].astype(float), b[output].astype(float)
        present, both = va.notna() | vb.notna(), va.notna() & vb.notna()
        if not present.any():
            continue
        missing = (int((va.isna() & vb.notna()).sum()), int((vb.isna() & va.notna()).sum()))
        diff = (vb - va)[present]
        compared = diff[both[present]]
        largest = float(compared.abs().max()) if len(compared) else 0.0
        spread = _spread(table_a, output).reindex(compared.index)
        rounding = ROUNDING * np.maximum(va.abs(), vb.abs())[compared.index]
        if compared.empty:
            verdict = "missing"
        elif (compared == 0).all():
            verdict = "identical"
        elif (compared.abs() <= rounding).all():
            verdict = "within float rounding"
        elif largest <= tolerance:
            verdict = "within tolerance"
        elif (compared.abs() <= spread).all():
            verdict = "within the seeds' spread"
        else:
            verdict = "differs"
        verdicts.append(Verdict(output, verdict, largest, len(compared), missing))
        rows += [
            {
                "cell": c,
                "dataset": a.at[c, "dataset"],
                "label": a.at[c, "label"],
                "seed": a.at[c, "seed"],
                "output": output,
                "a": va[c],
                "b": vb[c],
                "difference": diff[c],
            }
            for c in diff.index
        ]
    if not rows:
        trained = {t: int((x.set_index("cell").loc[common, "status"] == "trained").sum()) for t, x in
                   (("A", table_a), ("B", table_b))}  # fmt: skip
        raise BenchbenchError(
            f"{path_a} and {path_b} share {len(common)} cells but no evaluated output to compare "
            f"(trained among them: {trained['A']} in A, {trained['B']} in B)"
        )
    return pd.DataFrame(rows), verdicts, notes


def exceeds(verdicts: list[Verdict], tolerance: float) -> list[Verdict]:
    """The outputs whose largest difference is beyond the tolerance."""
    return [v for v in verdicts if v.max_difference > tolerance]


def incomplete(verdicts: list[Verdict]) -> list[Verdict]:
    """The outputs some model has in one run only."""
    return [v for v in verdicts if any(v.missing)]
