"""Time every applicable metric at its default (disentanglement_lib) sizes, or a preset's, on one trained model.

    python scripts/time_metrics.py results/quick [--device cuda] [--cell ID] [--profile fast]

Prints seconds per metric, the images the encoder saw, and the total.
"""

import argparse
import time

import numpy as np
import torch

from benchbench.core.registry import metrics
from benchbench.evaluation.evaluate import load_trained
from benchbench.plugin.metric import MetricNotApplicable
from benchbench.training.runner import resolve_devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cell", help="cell id (default: the first finished cell)")
    parser.add_argument("--profile", help="start every metric from this preset (e.g. fast) instead of its defaults")
    args = parser.parse_args()
    device = resolve_devices(args.device)[0]
    store, dataset, view = load_trained(args.run, args.cell, device)
    cell = store.cell()
    print(f"cell {store.path.name}: {cell.label} on {device}")
    start = time.perf_counter()
    for name in metrics.names():
        t0 = time.perf_counter()
        try:
            metric = metrics.get(name)
            options = getattr(metric, "profiles", {}).get(args.profile, {})
            result = metric(dataset, view, np.random.default_rng(0), **options)
        except MetricNotApplicable:
            continue
        if device.type == "cuda":
            torch.cuda.synchronize()
        headline = {k: round(float(v), 4) for k, v in result.items() if np.ndim(v) == 0 and k.count(".") == 0}
        print(f"{name:<26} {time.perf_counter() - t0:7.1f} s  encoded {view.images_encoded:>8}  {headline}")
    print(f"{'total':<26} {time.perf_counter() - start:7.1f} s")


if __name__ == "__main__":
    main()
