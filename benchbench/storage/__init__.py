"""The results store: a run's folders and the only code that writes them (``store``: the run's
lock and manifest, each cell's lifecycle and records, snapshots, packs), a pack's checkpoint as
one saved unit (``checkpoint``), and the conversion of a run written by an older benchbench
(``migrate``).  The trainer and the evaluator write through it; the report reads through
:mod:`benchbench.report.results`."""
