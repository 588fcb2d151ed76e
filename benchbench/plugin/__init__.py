"""What a plugin is written against: the dataset protocols and image stores (``data``), the
method API (``method``), the metric API and an evaluation's identity (``metric``), the study
API (``study``: its grids, protocol, published values and report), the ``Representation`` a
metric scores and its sampling helpers (``representation``), and the numerical helpers metrics
share (``stats``, ``boosting``).  Plugins import these names from :mod:`benchbench.api`, which
stays put when these modules move."""
