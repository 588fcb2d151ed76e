"""What every stage shares and none owns: the registries and the one-line user error
(``registry``), the words of type and range checks (``checks``), the run's records as types and
the canonical JSON every key hashes (``records``), atomic files, locks and damage diagnoses
(``files``), versions and timestamps (``provenance``), a cell's derived random streams and the
CPU's facts (``runtime``), and the networks a cell trains (``arch``).  It imports nothing else of
benchbench."""
