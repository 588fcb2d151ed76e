"""How a report picks configurations, whatever the study: the :class:`Selection` (``report
--select-by`` and ``--beta``, checked against the run), and the order metrics are read in.

Everything starts from :func:`benchbench.report.results.tidy` (a row per cell: dataset, method,
hyperparameters, seed, status, every scalar metric, and its row label) and
:func:`benchbench.report.results.aggregate` (mean, std and n over the seeds of each configuration).  A
method *variant* is a method with its string hyperparameters (DIP-VAE-I and -II, running or
batch covariance): variants are separate rows, series and labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchbench.core.registry import BenchbenchError
from benchbench.plugin.metric import declared_directions, metric_of
from benchbench.report.results import direction, metric_columns, ranked_outputs


def reading_order(outputs: list[str], order: tuple[str, ...] = ()) -> list[str]:
    """``metric.output`` columns with the metrics of ``order`` first (a study's: as its paper
    reports them), every other metric after them by name, each metric's outputs as given."""

    def rank(output: str) -> tuple[int, str]:
        metric = metric_of(output.partition(".")[0])
        return (order.index(metric) if metric in order else len(order), metric)

    return sorted(outputs, key=rank)


@dataclass
class Selection:
    """How configurations are picked where one per method variant is shown: by the best mean of
    ``select_by`` (a study's default, or ``report --select-by``), and the β values a study's
    table shows per dataset (``report --beta``); checked against the run."""

    betas: dict[str, tuple[float, float]] = field(default_factory=dict)
    select_by: str | None = None
    #: Whether the user chose ``select_by``: only then must the run have its values (a run
    #: without a study's default output still gets a report, with the rows it can fill).
    chosen: bool = False
    #: Which way each output is better, as the run recorded it (:func:`benchbench.report.results.directions`).
    directions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def higher(self) -> bool:
        """Whether ``select_by`` is better higher: as the run recorded it, else as its metric declares."""
        metric = str(self.select_by).partition(".")[0]
        known = self.directions if metric in self.directions else {metric: declared_directions(metric)}
        return direction(known, str(self.select_by)) == "higher"

    def defaulted(self, study_default: str | None, table: pd.DataFrame) -> Selection:
        """This selection, its ``select_by`` filled in where not given: the study's, else the
        run's first output that declares which way is better."""
        if self.select_by is None:
            ranked = ranked_outputs(metric_columns(table), self.directions)
            self.select_by = study_default or (ranked[0] if ranked else None)
        return self

    def check(self, table: pd.DataFrame) -> None:
        """One-line errors for a selection the run cannot answer: an output with no declared
        direction or no values, a dataset not in the run, a β it did not train."""
        metric = str(self.select_by).partition(".")[0]
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
