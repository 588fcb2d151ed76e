"""The study plugin API: a paper's protocol as one registered file (the counterpart of
:mod:`benchbench.plugin.method` and :mod:`benchbench.plugin.metric`).

A study is a class registered with ``@studies.register("name")``::

    @studies.register("my_study")
    class MyStudy(Study):
        title = "Me et al. 2026, My Paper"
        grids = {"my_grid": my_grid}            # name → a function returning a grid specification
        published = (Published("mig", "beta_vae β=4 on dsprites", 0.21, "Table 2, p. 6"),)

        def sections(self, report): ...         # its tables and figures, in its order
        def claims(self, report): ...           # its claims, each judged on the run

Its grids are registered with it: ``benchbench run --grid my_grid`` runs one, and the run
remembers the study, so ``benchbench report`` shows that study's sections and judges its claims
(``report --study`` applies another).  A study declares the training protocol its numbers were
published at (``protocol``), against which a report says where a run departs from it.  The
report hands ``sections`` and ``claims`` its reading of the run (:mod:`benchbench.report`); this
module knows no store and no report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from benchbench.core.registry import BenchbenchError, studies


@dataclass(frozen=True)
class Published:
    """A number a study's paper reports: which ``output`` of which configuration (``of``, in
    words), its ``value``, and ``source`` — where in the paper (table, figure or section, page)."""

    output: str
    of: str
    value: float
    source: str


class Study:
    """A registered study (see the module's docstring).  Every attribute has a default, so a
    study declares only what it has."""

    name: ClassVar[str] = ""
    #: The paper, as a reader cites it.
    title: ClassVar[str] = ""
    #: One line for ``benchbench list studies``.
    description: ClassVar[str] = ""
    #: Its grids: name → a function returning a grid specification (docs/grids.md's schema).
    grids: ClassVar[dict[str, Callable[[], dict[str, Any]]]] = {}
    #: The training settings its published numbers come from (``train`` keys of a grid), which a
    #: report compares a run's with; empty: it states none.
    protocol: ClassVar[dict[str, Any]] = {}
    #: The numbers its paper reports, each with its source.
    published: ClassVar[tuple[Published, ...]] = ()
    #: The output (``metric.output``) that picks one configuration per method variant where a
    #: report shows one (``report --select-by`` overrides it); ``None``: the run's first ranked one.
    select_by: ClassVar[str | None] = None
    #: The metrics its paper reports, in its order: a report's tables read them first.
    metric_order: ClassVar[tuple[str, ...]] = ()
    #: Its datasets in its paper's order: a report shows them first.
    dataset_order: ClassVar[tuple[str, ...]] = ()
    #: How its claims are judged, in a sentence or two for the claims' caption.
    claims_rule: ClassVar[str] = ""

    def sections(self, report) -> list:
        """Its tables and figures for the run ``report`` (a :class:`~benchbench.report.view.ReportView`)
        reads, in the order its paper shows them; by default what every run shows (traversals and
        training curves per dataset)."""
        return report.default_sections()

    def claims(self, report) -> list:
        """Its claims, each judged on the run ``report`` reads."""
        return []

    @classmethod
    def declare(cls, obj: type, name: str) -> Study:
        """The registered study: an instance of ``obj``, refused in one line if it is not a
        :class:`Study` or names a grid another study registered."""
        if not (isinstance(obj, type) and issubclass(obj, Study)):
            raise BenchbenchError(f"study {name}: register a subclass of benchbench.api.Study")
        for grid in obj.grids:
            owner = next((n for n, s in studies if grid in s.grids and n != name), None)
            if owner is not None:
                raise BenchbenchError(f"study {name}: grid {grid!r} is study {owner}'s already")
        return obj()


studies.declare = Study.declare


def grid_catalogue() -> dict[str, tuple[str, Callable[[], dict[str, Any]]]]:
    """Every registered grid: name → (its study, the function that gives its specification)."""
    return {grid: (name, fn) for name, study in studies for grid, fn in study.grids.items()}


def study_of(grid: str | None) -> str | None:
    """The study that registered grid ``grid`` (``None``: a grid file, or no such grid)."""
    found = grid_catalogue().get(grid) if grid else None
    return found[0] if found else None
