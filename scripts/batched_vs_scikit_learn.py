"""How far a metric with its batched solver is from the same metric with scikit-learn's, beside the
metric's own spread over its seed: docs/metrics.md quotes what this prints.

For each seed, the metric (``sap`` or ``modularity_explicitness``; default sizes) runs twice on
the same draws (a trained model's mean codes, or synthetic codes of shapes2d without ``--run``),
``solver = "batched"`` and ``solver = "scikit-learn"``.  Printed per output: the largest
difference over the seeds (for an array output, over its entries too), and for a number its
standard deviation over the seeds with scikit-learn.  (Seconds are ``bench``'s and
``scripts/time_reference_metrics.py``'s: here the first run of a model also encodes its images.)

    python scripts/batched_vs_scikit_learn.py --metric sap [--run RUN [--cell ID]] [--seeds 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchbench.core.registry import metrics
from benchbench.evaluation.bench import trained_or_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", required=True, choices=["sap", "modularity_explicitness"])
    parser.add_argument("--run", help="a run with kept weights (else synthetic codes of shapes2d)")
    parser.add_argument("--cell")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    data, model = trained_or_synthetic(args.run, args.cell)
    metric = metrics.get(args.metric)
    runs = [
        [metric(data, model, np.random.default_rng(seed), solver=s) for s in ("batched", "scikit-learn")]
        for seed in range(args.seeds)
    ]
    print(f"{args.metric} on {model.label}; seeds 0..{args.seeds - 1}; default sizes")
    print(f"{'output':<22} {'max |batched - scikit-learn|':>29} {'std over seeds (scikit-learn)':>31}")
    for name in runs[0][0]:
        gaps = [np.abs(np.asarray(ours[name], float) - np.asarray(theirs[name], float)).max() for ours, theirs in runs]
        spread = np.std([theirs[name] for _, theirs in runs]) if np.ndim(runs[0][1][name]) == 0 else float("nan")
        print(f"{name:<22} {max(gaps):>29.5f} {spread:>31.5f}")


if __name__ == "__main__":
    main()
