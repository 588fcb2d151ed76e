"""Seconds per metric of disentanglement_lib's own code against benchbench's, on identical codes.

    git clone https://github.com/google-research/disentanglement_lib /tmp/dlib
    python scripts/time_reference_metrics.py --dlib /tmp/dlib [--metrics dci,fairness] [--seed 0]

disentanglement_lib's metric functions are imported from the checkout without TensorFlow: small
stand-ins for ``gin.tf`` (each ``@gin.configurable`` reads its bindings from this script, the
study's ``metric_configs/*.gin`` values), ``absl.logging`` and ``six`` are put in ``sys.modules``
first when those packages are missing.  Both sides score the codes of
:func:`benchbench.evaluation.bench.synthetic_codes`: one code per image of dSprites' factor
space, a fixed function of the image's index, so each side draws its own samples from its own
seeded stream but every image has the same code on both.  Each side runs every metric at the
study's sizes on the threads torch and scikit-learn start by default; a metric that takes
under :data:`REPEAT_BELOW` seconds is timed again, three times in all or as often as fill
:data:`BUDGET` seconds (at most 100), and the best kept (as ``timeit`` does:
the first run of either side also pays for imports its module defers, such as scikit-learn's
estimators, once per process).  Printed per metric: seconds of each and their ratio.
docs/performance.md quotes what this prints.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import logging
import sys
import time
import types
import warnings

import numpy as np

from benchbench.core.registry import datasets
from benchbench.evaluation.bench import synthetic_codes, time_metric

REPEAT_BELOW = 10.0  # seconds: a metric quicker than this is timed best of several
BUDGET = 2.0  # seconds of repeats a quick metric is given on each side, so that milliseconds are timed many times

#: disentanglement_lib's configurable name → the study's bindings (fairness_study_v1/metric_configs)
BINDINGS: dict[str, dict] = {
    "beta_vae_sklearn": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000},
    "factor_vae_score": {"batch_size": 64, "num_train": 10_000, "num_eval": 5_000, "num_variance_estimate": 10_000},
    "prune_dims": {"threshold": 0.05},
    "mig": {"num_train": 10_000},
    "dci": {"num_train": 10_000, "num_test": 5_000},
    "sap_score": {"num_train": 10_000, "num_test": 5_000, "continuous_factors": False},
    "modularity_explicitness": {"num_train": 10_000, "num_test": 5_000},
    "irs": {"num_train": 10_000, "batch_size": 16, "diff_quantile": 0.99},
    "unsupervised_metrics": {"num_train": 10_000},
    "fairness": {"num_train": 10_000, "num_test_points_per_class": 100},
    "downstream_task": {"num_train": [10, 100, 1_000, 10_000], "num_test": 5_000},
    "discretizer": {"num_bins": 20},
    "histogram_discretizer": {"num_bins": 20},
}

#: benchbench metric → (disentanglement_lib module, function, the predictor bound for it)
REFERENCE = {
    "beta_vae_score": ("beta_vae", "compute_beta_vae_sklearn", None),
    "factor_vae_score": ("factor_vae", "compute_factor_vae", None),
    "mig": ("mig", "compute_mig", None),
    "dci": ("dci", "compute_dci", None),
    "sap": ("sap_score", "compute_sap", None),
    "modularity_explicitness": ("modularity_explicitness", "compute_modularity_explicitness", None),
    "irs": ("irs", "compute_irs", None),
    "unsupervised": ("unsupervised_metrics", "unsupervised_metrics", None),
    "fairness": ("fairness", "compute_fairness", "gradient_boosting_classifier"),
    "downstream_task": ("downstream_task", "compute_downstream_task", "both"),
}


class _Required:
    def __repr__(self) -> str:
        return "gin.REQUIRED"


def _configurable(name=None, blacklist=None, **_):
    """``@gin.configurable``: keyword defaults from :data:`BINDINGS` under the configurable's name."""

    def wrap(fn, key):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def bound(*args, **kwargs):
            given = signature.bind_partial(*args, **kwargs).arguments  # a binding fills only what is not passed
            return fn(*args, **kwargs, **{k: v for k, v in BINDINGS.get(key, {}).items() if k not in given})

        return bound

    if callable(name):  # used bare
        return wrap(name, name.__name__)
    return lambda fn: wrap(fn, name or fn.__name__)


def install_stand_ins() -> None:
    """``gin``/``gin.tf``, ``absl.logging`` and ``six.moves`` where they are not installed."""
    gin = types.ModuleType("gin")
    gin.configurable, gin.REQUIRED = _configurable, _Required()
    gin.tf = gin
    stand_ins = {"gin": gin, "gin.tf": gin}
    try:
        importlib.import_module("absl.logging")
    except ImportError:
        absl = types.ModuleType("absl")
        absl.logging = logging.getLogger("disentanglement_lib")
        stand_ins.update({"absl": absl, "absl.logging": absl.logging})
    try:
        importlib.import_module("six.moves")
    except ImportError:
        six = types.ModuleType("six")
        six.moves = types.SimpleNamespace(range=range)
        stand_ins.update({"six": six, "six.moves": six.moves})
    sys.modules.update(stand_ins)


class FactorSpace:
    """disentanglement_lib's ``GroundTruthData`` over the dataset's factor space whose observations
    are image indices: ``representation_function`` looks their codes up."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.factors_num_values = list(dataset.factor_sizes)
        self.num_factors = len(self.factors_num_values)
        self.observation_shape = [1]

    def sample_factors(self, num, random_state):  # SplitDiscreteStateSpace.sample_latent_factors
        return np.stack([random_state.randint(k, size=num) for k in self.factors_num_values], axis=1)

    def sample_observations_from_factors(self, factors, random_state):
        return self.dataset.factors_to_index(factors)

    def sample(self, num, random_state):
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num, random_state):
        return self.sample(num, random_state)[1]


def best_seconds(run, *args) -> float:
    """Seconds of ``run(*args)`` (which returns them): once, or where under :data:`REPEAT_BELOW`
    the best of three or of as many as fill :data:`BUDGET`, at most 100."""
    first = run(*args)
    if first >= REPEAT_BELOW:
        return first
    repeats = min(99, max(2, int(BUDGET / max(first, 1e-6))))  # with the first: 3 to 100 runs
    return min([first, *(run(*args) for _ in range(repeats))])


def benchbench_seconds(metric: str, dataset, codes, seed: int) -> float:
    """Seconds of one evaluation, timed here: the record's own are rounded to milliseconds."""
    t0 = time.perf_counter()
    time_metric(metric, dataset, codes, seed=seed)
    return time.perf_counter() - t0


def reference_seconds(dlib: str, metric: str, data: FactorSpace, codes: np.ndarray, seed: int) -> float:
    """Seconds of disentanglement_lib's function for ``metric`` (both predictors for the downstream task)."""
    sys.path.insert(0, dlib)
    utils = importlib.import_module("disentanglement_lib.evaluation.metrics.utils")
    BINDINGS["discretizer"]["discretizer_fn"] = utils._histogram_discretize
    module, function, predictor = REFERENCE[metric]
    fn = getattr(importlib.import_module(f"disentanglement_lib.evaluation.metrics.{module}"), function)
    predictors = ["logistic_regression_cv", "gradient_boosting_classifier"] if predictor == "both" else [predictor]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # today's scikit-learn's notices about the reference's calls
        for name in predictors:
            if name:
                BINDINGS["predictor"] = {"predictor_fn": getattr(utils, name)}
            fn(data, lambda index: codes[index], np.random.RandomState(seed))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlib", required=True, help="a disentanglement_lib checkout (the repository's root)")
    parser.add_argument("--metrics", default=",".join(REFERENCE), help="comma-separated (default: every one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    install_stand_ins()
    dataset = datasets.get("shapes2d")()
    codes = synthetic_codes(dataset, args.seed)
    print(f"{'metric':<26} {'benchbench s':>13} {'reference s':>12} {'ratio':>7}")
    for metric in args.metrics.split(","):
        ours = best_seconds(benchbench_seconds, metric, dataset, codes, args.seed)
        theirs = best_seconds(reference_seconds, args.dlib, metric, FactorSpace(dataset), codes.codes, args.seed)
        print(f"{metric:<26} {ours:13.3f} {theirs:12.3f} {theirs / ours:7.1f}", flush=True)


if __name__ == "__main__":
    main()
