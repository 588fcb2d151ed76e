"""Models shared between runs and people: a run's models exported as a bundle anyone can verify
(``transfer`` reads any fsspec URL, resumably; ``bundle`` writes and checks the format; ``card``
describes it), imported or pulled into a run (``importing``), and a zoo's index of bundles
(``zoo``).  Imported models then evaluate, report and compare as trained ones: the store holds
them in its usual layout, with where they came from in their records."""
