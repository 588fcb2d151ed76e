"""``beta_vae_score``: Higgins et al.'s disentanglement metric score (the seed's Table 1 "Metric").

Sample a factor k; sample ``batch_size`` (L) pairs of images that share k's value (all other
factors drawn freely); the feature is the mean over the pairs of ``|μ(x₁) − μ(x₂)|`` and the
label is k.  ``num_train`` such points train a low-capacity classifier, ``num_eval`` fresh ones
test it; the score is the test accuracy in percent.

* ``classifier="svm"`` (default, the seed's): one-vs-rest linear SVM, hinge loss weighted by
  C = 0.01, regulariser weight 1 (liblinear).
* ``classifier="logreg"``: disentanglement_lib's ``beta_vae_sklearn`` (logistic regression with
  scikit-learn's defaults): :func:`benchbench.plugin.representation.logistic_regression`, so
  ``mode="compat"`` fits the one disentanglement_lib ran on.

On a labelled dataset (e.g. CelebA) pairs are drawn from the data: the second image is uniform
among those whose label k equals the first's.  ``factors`` restricts which factors/labels count.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from benchbench.api import (
    COUNT,
    BenchbenchError,
    Mode,
    Shown,
    better,
    bounds,
    defined_by,
    encode_pairs,
    label_names,
    logistic_regression,
    metrics,
    names_factors,
    partners,
    profiles,
    reduce_pairs,
    sample_indices,
    shown_as,
)


def factor_subset(dataset, factors: list[str] | None) -> np.ndarray:
    """Column indices of the named factors/labels (all when ``None``)."""
    names = label_names(dataset)
    if factors is None:
        return np.arange(len(names))
    unknown = [f for f in factors if f not in names]
    if unknown:
        raise BenchbenchError(f"unknown factor {unknown[0]!r} (known: {', '.join(names)})")
    return np.array([names.index(f) for f in factors])


def _points(dataset, model, n: int, pairs: int, use: np.ndarray, rng: np.random.Generator):
    k = rng.choice(use, size=n)
    first = sample_indices(dataset, (n, pairs), rng)
    second = partners(dataset, first, k[:, None], rng)
    gaps = encode_pairs(dataset, model, first, rng) - encode_pairs(dataset, model, second, rng)
    return reduce_pairs(np.mean, np.abs(gaps, out=gaps)), k  # in place: (pairs, n, d), tens of megabytes


@metrics.register("beta_vae_score")
@defined_by("Higgins et al. 2017; disentanglement_lib evaluation/metrics/beta_vae.py")
@better(eval_accuracy="higher", train_accuracy="higher")
@shown_as(
    eval_accuracy=Shown("Higgins et al. score", to_percent=1),
    train_accuracy=Shown("Higgins et al. score, train accuracy", to_percent=1),
)
@bounds(batch_size=COUNT, num_train=COUNT, num_eval=COUNT)
@names_factors("factors")
@profiles(fast={"batch_size": 16, "num_train": 1000, "num_eval": 500})
def beta_vae_score(
    dataset,
    model,
    rng,
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    classifier: Literal["svm", "logreg"] = "svm",
    factors: list[str] | None = None,
    mode: Mode = "default",
) -> dict[str, float]:
    """Higgins et al.'s score: accuracy (%) of a linear classifier predicting the fixed factor."""
    use = factor_subset(dataset, factors)
    if use.size < 2:
        raise BenchbenchError("beta_vae_score needs at least two factors to tell apart")
    x_train, y_train = _points(dataset, model, num_train, batch_size, use, rng)
    x_eval, y_eval = _points(dataset, model, num_eval, batch_size, use, rng)
    seed = int(rng.integers(2**31 - 1))
    if classifier == "svm":
        from sklearn.svm import LinearSVC  # deferred: seconds to import, and every command loads the metrics

        clf = LinearSVC(C=0.01, loss="hinge", max_iter=20_000, random_state=seed)
    elif classifier == "logreg":
        clf = logistic_regression(mode)
    else:
        raise BenchbenchError(f"beta_vae_score: classifier must be 'svm' or 'logreg', got {classifier!r}")
    clf.fit(x_train, y_train)
    return {
        "train_accuracy": 100.0 * np.mean(clf.predict(x_train) == y_train),
        "eval_accuracy": 100.0 * np.mean(clf.predict(x_eval) == y_eval),
    }
