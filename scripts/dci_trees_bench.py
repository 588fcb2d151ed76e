"""Seconds per DCI fit: benchbench's batched trees against scikit-learn's
GradientBoostingClassifier run sequentially and with one joblib worker (process) per factor, on
the same codes, in one process, one after another.

    python scripts/dci_trees_bench.py results/reference/quick      # every trained model's codes
    python scripts/dci_trees_bench.py --synthetic 32x40             # 32 latents, 40 binary targets

Codes come at DCI's default sizes (10,000 training and 5,000 test points).  ``--synthetic DxK``
draws CelebA-sized codes: ``D`` Gaussian latents, ``K`` binary targets from noisy random linear
maps, seeded.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from benchbench.evaluation.evaluate import load_trained
from benchbench.plugin.boosting import fit_classifiers
from benchbench.plugin.representation import sample_codes
from benchbench.storage.store import RunStore


def sklearn_fit(x, y, j):
    return GradientBoostingClassifier(random_state=0).fit(x, y[:, j]).feature_importances_


def timings(x, y, x_test, workers: int) -> dict[str, float]:
    out = {}
    t0 = time.perf_counter()
    fit_classifiers(x, y, x_test)
    out["benchbench trees"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    [sklearn_fit(x, y, j) for j in range(y.shape[1])]
    out["scikit-learn, sequential"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    Parallel(n_jobs=min(workers, y.shape[1]))(delayed(sklearn_fit)(x, y, j) for j in range(y.shape[1]))
    out[f"scikit-learn, {min(workers, y.shape[1])} joblib workers"] = time.perf_counter() - t0
    return out


def synthetic(spec: str, n: int, seed: int = 0):
    d, k = (int(v) for v in spec.split("x"))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, k))
    y = (x @ w + rng.normal(scale=2.0, size=(n, k)) > 0).astype(np.int64)
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?")
    parser.add_argument("--synthetic", metavar="DxK")
    parser.add_argument("--workers", type=int, default=-1, help="joblib workers (default: one per factor)")
    args = parser.parse_args()
    cases = []
    if args.synthetic:
        x, y = synthetic(args.synthetic, 15_000)
        cases.append((f"synthetic {args.synthetic}", x[:10_000], y[:10_000], x[10_000:]))
    if args.run:
        for store in RunStore(args.run).cell_stores():
            _, dataset, view = load_trained(args.run, store.path.name, "cpu")
            rng = np.random.default_rng(0)
            x, y = sample_codes(dataset, view, 10_000, rng)
            x_test, _ = sample_codes(dataset, view, 5_000, rng)
            cases.append((f"{store.cell().label}", x, y, x_test))
    workers = args.workers if args.workers > 0 else 10**6
    for name, x, y, x_test in cases:
        classes = [len(np.unique(c)) for c in y.T]
        print(f"{name}: codes {x.shape}, {y.shape[1]} targets with {classes} classes", flush=True)
        for what, seconds in timings(x, y, x_test, workers).items():
            print(f"  {what:<34} {seconds:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
