"""DCI with benchbench's batched trees against scikit-learn's GradientBoostingClassifier, on the
codes of one trained model at default sizes: importances, scores, accuracies and times.

    python scripts/dci_vs_sklearn.py results/quick [--device cuda] [--cell ID] [--seed 0]

scikit-learn breaks exactly tied splits at random, so it is run with several seeds: the spread
between its own seeds is the yardstick for the difference between it and benchbench.
"""

import argparse
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.ensemble import GradientBoostingClassifier

from benchbench.evaluation.evaluate import load_trained
from benchbench.metrics.dci import completeness, disentanglement
from benchbench.plugin.boosting import fit_classifiers
from benchbench.plugin.representation import sample_codes
from benchbench.training.runner import resolve_devices


def sklearn_importances(x, y, seed):
    fits = Parallel(n_jobs=-1, prefer="threads")(
        delayed(lambda j: GradientBoostingClassifier(random_state=seed).fit(x, y[:, j]))(j) for j in range(y.shape[1])
    )
    return np.stack([f.feature_importances_ for f in fits], axis=1), fits


def summary(importance):
    return f"disentanglement {disentanglement(importance):.6f}  completeness {completeness(importance):.6f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cell", help="cell id (default: the first finished cell)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sklearn-seeds", type=int, default=2)
    args = parser.parse_args()
    device = resolve_devices(args.device)[0]
    store, dataset, view = load_trained(args.run, args.cell, device)
    cell = store.cell()
    rng = np.random.default_rng(args.seed)
    x, y = sample_codes(dataset, view, 10_000, rng)
    x_test, y_test = sample_codes(dataset, view, 5_000, rng)
    print(f"cell {store.path.name}: {cell.label}; codes {x.shape}, factors {list(dataset.factor_names)}")

    t0 = time.perf_counter()
    fits = fit_classifiers(x, y, x_test, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    ours = np.stack([f.importance for f in fits], axis=1)
    print(f"benchbench ({device}): {time.perf_counter() - t0:.1f} s  {summary(ours)}")
    accuracy = [round(float(np.mean(f.test_prediction == t)), 4) for f, t in zip(fits, y_test.T)]
    print("  test accuracy per factor", accuracy)

    references = []
    for seed in range(args.sklearn_seeds):
        t0 = time.perf_counter()
        importance, models = sklearn_importances(x, y, seed)
        references.append(importance)
        print(f"scikit-learn (seed {seed}): {time.perf_counter() - t0:.1f} s  {summary(importance)}")
        accuracy = [round(float(np.mean(m.predict(x_test) == t)), 4) for m, t in zip(models, y_test.T)]
        print("  test accuracy per factor", accuracy)
        print(f"  max |R_benchbench - R_sklearn| = {np.abs(ours - importance).max():.2e}")
    if len(references) > 1:
        print(f"max |R_sklearn seed 0 - seed 1| = {np.abs(references[0] - references[1]).max():.2e}")


if __name__ == "__main__":
    main()
