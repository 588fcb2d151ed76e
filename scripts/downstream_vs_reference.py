"""How far the downstream task's predictors are from disentanglement_lib's code run on today's
scikit-learn, on identical draws: docs/metrics.md quotes what this prints.

disentanglement_lib fits ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` per factor
(``evaluation/metrics/utils.py``, ``logistic_regression_cv``) and leaves every other argument to
scikit-learn: today that is lbfgs, multinomial, 100 iterations.  benchbench's ``default`` mode
gives lbfgs 1,000 iterations to converge; ``compat`` fits one binary problem per class, as
scikit-learn ≤ 0.21 did when the study ran.  Codes: dSprites' factor sizes (3, 6, 40, 32, 32),
five latents that are the factors scaled to [0, 1] plus Gaussian noise and five pure noise.

Boosted trees at 10 labels: many latents split so few points perfectly alike, and which one a
tree takes is the whole difference.  scikit-learn (unseeded in disentanglement_lib) draws it;
the metric draws it from its stream (``ties = "random"``) or takes the lowest latent
(``"lowest"``).  Printed per factor: the mean and spread of test accuracy over 20 of
scikit-learn's seeds, over 20 tie seeds of the metric, and the lowest-latent rule's accuracy.

    python scripts/downstream_vs_reference.py [--seeds 2] [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold

from benchbench.metrics.downstream_task import regression_accuracies, tree_accuracies

SIZES = (3, 6, 40, 32, 32)


def draw(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    factors = np.stack([rng.integers(0, k, n) for k in SIZES], axis=1)
    scaled = factors / (np.array(SIZES) - 1)
    codes = np.concatenate([scaled + noise * rng.normal(size=scaled.shape), rng.normal(size=(n, 5))], axis=1)
    return codes.astype(np.float32), factors


def reference(x, y, xt, yt) -> np.ndarray:
    """disentanglement_lib's ``_compute_loss`` test accuracies with its predictor on today's scikit-learn."""
    out = []
    for j in range(y.shape[1]):
        if np.unique(y[:, j]).size == 1:
            out.append(float(np.mean(yt[:, j] == y[0, j])))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5)).fit(x, y[:, j])
        out.append(float(np.mean(model.predict(xt) == yt[:, j])))
    return np.array(out)


def trees(num_test: int, noise: float, draws: int = 20) -> None:
    rng = np.random.default_rng(0)
    x, y = draw(rng, 10, noise)
    xt, yt = draw(rng, num_test, noise)
    theirs = np.array([
        [np.mean(GradientBoostingClassifier(random_state=s).fit(x, y[:, j]).predict(xt) == yt[:, j])
         if np.unique(y[:, j]).size > 1 else np.mean(yt[:, j] == y[0, j]) for j in range(y.shape[1])]
        for s in range(draws)
    ])  # fmt: skip
    ours = np.array([tree_accuracies(x, y, xt, yt, "cpu", tie_seed=s)[1] for s in range(draws)])
    lowest = tree_accuracies(x, y, xt, yt, "cpu")[1]
    print(f"boosted trees, 10 labels, codes with noise {noise}: test accuracy per factor")
    print("factor  scikit-learn mean ± std  metric (random ties) mean ± std  lowest latent")
    for j in range(y.shape[1]):
        print(f"{j:>6}  {theirs[:, j].mean():>8.3f} ± {theirs[:, j].std():.3f}"
              f"  {ours[:, j].mean():>16.3f} ± {ours[:, j].std():.3f}  {lowest[j]:>12.3f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--num-test", type=int, default=5000)
    parser.add_argument("--trees-only", action="store_true")
    args = parser.parse_args()
    for noise in (0.01, 0.3):
        trees(args.num_test, noise)
    if args.trees_only:
        return
    print("codes  labels  mode     mean |Δ|  max |Δ|  (test accuracy per factor, against disentanglement_lib's code)")
    for noise, name in ((0.01, "clean"), (0.3, "noisy")):
        for n in (int(s) for s in args.sizes.split(",")):
            deltas = {"default": [], "compat": []}
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                x, y = draw(rng, n, noise)
                xt, yt = draw(rng, args.num_test, noise)
                theirs = reference(x, y, xt, yt)
                for mode in deltas:
                    deltas[mode] += list(np.abs(regression_accuracies(x, y, xt, yt, mode)[1] - theirs))
            for mode, found in deltas.items():
                print(f"{name:<6} {n:>6}  {mode:<8} {np.mean(found):>8.4f}  {np.max(found):>7.4f}", flush=True)


if __name__ == "__main__":
    main()
