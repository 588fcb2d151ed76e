"""How much does the rounding path (pack, device) move a run's metrics, next to the seeds' spread?

    python scripts/pack_effect.py results/quick3-pack3 results/quick

Cells of the two runs with the same id had the same training config; if the runs packed them
differently (or ran on different devices), their values differ only through float rounding.
For every headline value this prints |A − B| over those shared cells, and beside it the
standard deviation over seeds of the same configurations in run A (the spread a different
seed gives). Written for docs/reproducibility.md.
"""

import argparse

import pandas as pd

from benchbench.report.results import results_table
from benchbench.storage.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", help="a run with several seeds per configuration")
    parser.add_argument("run_b", help="a run sharing some cells with A, trained in other packs or on another device")
    args = parser.parse_args()
    a, b = (results_table(RunStore(path)).set_index("cell") for path in (args.run_a, args.run_b))
    shared = a.index.intersection(b.index)
    values = [c for c in a.columns if c.count(".") == 1 and not c.startswith("hp.") and c in b.columns]
    config = ["dataset", "method", *[c for c in a.columns if c.startswith("hp.")]]
    spread = a.groupby(config, dropna=False)[values].std(ddof=1)
    rows = []
    for value in values:
        delta = (a.loc[shared, value] - b.loc[shared, value]).abs().dropna()
        std = spread[value].dropna()
        rows.append(
            {
                "value": value,
                "cells": len(delta),
                "max |A-B|": delta.max(),
                "mean |A-B|": delta.mean(),
                "configs": len(std),
                "seed std (mean)": std.mean(),
                "ratio": delta.mean() / std.mean() if std.mean() > 0 else float("nan"),
            }
        )
    print(f"{len(shared)} cells in both runs; |A-B| over those with values in both, seed std over {args.run_a}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
