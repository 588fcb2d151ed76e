"""How far SAP with the batched SVMs is from SAP with scikit-learn's, beside SAP's own spread over
its seed: docs/metrics.md quotes what this prints.

For each seed, the metric runs twice on the same draws (a trained model's mean codes, or synthetic
codes of shapes2d without ``--run``), ``solver = "batched"`` and ``solver = "scikit-learn"``;
printed: the largest difference in the score matrix (test accuracies), the difference in SAP, and
SAP's standard deviation over the seeds.  (Seconds are ``bench``'s and
``scripts/time_reference_metrics.py``'s: here the first run of a model also encodes its images.)

    python scripts/sap_vs_scikit_learn.py [--run RUN [--cell ID]] [--seeds 5]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from benchbench.core.registry import datasets, metrics
from benchbench.evaluation.bench import synthetic_codes
from benchbench.evaluation.evaluate import load_trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a run with kept weights (else synthetic codes of shapes2d)")
    parser.add_argument("--cell")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.run:
        _, data, model = load_trained(args.run, args.cell, torch.device("cpu"))
    else:
        data = datasets.get("shapes2d")()
        model = synthetic_codes(data)
    sap = metrics.get("sap")
    print(f"codes: {model.label}; seeds 0..{args.seeds - 1}; default sizes")
    print("seed  max |Δ score matrix|  |Δ SAP|    SAP batched / scikit-learn")
    scores = []
    for seed in range(args.seeds):
        ours, theirs = (sap(data, model, np.random.default_rng(seed), solver=s) for s in ("batched", "scikit-learn"))
        scores.append(theirs["sap"])
        gap = np.abs(ours["score_matrix"] - theirs["score_matrix"]).max()
        print(f"{seed:>4}  {gap:>19.4f}  {abs(ours['sap'] - theirs['sap']):>7.4f}"
              f"  {ours['sap']:>12.4f} / {theirs['sap']:.4f}", flush=True)  # fmt: skip
    print(f"SAP's standard deviation over the seeds (scikit-learn): {np.std(scores):.4f}")


if __name__ == "__main__":
    main()
