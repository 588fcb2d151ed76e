"""The report: a run read from the store (``results``: the tidy table every view is made from),
its statistics (``analysis``), two runs side by side (``compare``), and ``benchbench report``:
the paper's tables (``tables``), each table and figure as files and HTML (``sections``), written
in the paper's order and swapped into place (``writer``), rendered by ``figures``, ``latex``,
``html`` and ``numbers``, with the run's protocol (``settings``) and claims (``claims``).
Importing the package imports none of them: ``status`` need not load matplotlib."""
