"""``benchbench report``: a run → the paper's Tables 1–4 (CSV, LaTeX), its figures, an overview of
every metric and an HTML page.

``tables.py`` computes the paper's tables from the run's tidy table, ``sections.py`` builds each
table and figure, ``writer.py`` writes them in the paper's order and swaps the finished report
into place; ``figures``, ``latex``, ``html``, ``numbers`` and ``settings`` render.
"""

from benchbench.report.sections import FORMATS
from benchbench.report.writer import make_report

__all__ = ["FORMATS", "make_report"]
