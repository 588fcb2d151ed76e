"""Grid → cells → packs: a grid's schema, validation and expansion into cells and evaluations
(``grids``; the registered grids are studies', :mod:`benchbench.plugin.study`), and a cell — one
model's training config, hashed into its id — with the packs compatible cells train in
(``cells``).  Nothing here trains, writes or evaluates."""
