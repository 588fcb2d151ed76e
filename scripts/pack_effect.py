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

from benchbench.store import RunStore, results_table


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
        delta = (a.loc[shared, value] - b.loc[shared, value]).abs()
        rows.append(
            {
                "value": value,
                "cells": len(shared),
                "max |A-B|": delta.max(),
                "mean |A-B|": delta.mean(),
                "seed std (mean)": spread[value].mean(),
                "ratio": delta.mean() / spread[value].mean(),
            }
        )
    print(f"{len(shared)} shared cells; seed spread over {len(spread)} configurations of {args.run_a}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
