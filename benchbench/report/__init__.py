"""The report, knowing no paper: a run read from the store (``results``: the tidy table every
view is made from), its statistics (``analysis``), two runs side by side (``compare``), and
``benchbench report``: the run's study's sections, built through a ``ReportView`` (``view``)
from the parts every study uses (``parts``), then the sections every report has (``sections``),
written and swapped into place (``writer``), rendered by ``figures``, ``latex``, ``html`` and
``numbers``, with the run's protocol (``settings``) and selection (``tables``).  Importing the
package imports none of them: ``status`` need not load matplotlib."""
