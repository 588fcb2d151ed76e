"""``mig``: Chen et al.'s Mutual Information Gap, as disentanglement_lib computes it.

``num_train`` random images are encoded; each latent is discretised into ``num_bins`` (20)
equal-width bins over its range; for each factor, the gap between the two latents with the
highest mutual information with it, divided by the factor's entropy (nats), is averaged over
factors.  A factor with zero entropy in the sample (constant) would divide by zero: the default
mode leaves it out of the average, ``mode="compat"`` keeps disentanglement_lib's NaN.
"""

from __future__ import annotations

import numpy as np

from benchbench.api import (
    COUNT,
    Mode,
    better,
    bounds,
    defined_by,
    entropy,
    histogram_discretize,
    metrics,
    mutual_info_matrix,
    profiles,
    sample_codes,
    shown_as,
)


@metrics.register("mig")
@defined_by("Chen et al. 2018; disentanglement_lib evaluation/metrics/mig.py")
@better(mig="higher")
@shown_as(mig="mutual information gap (MIG)")
@bounds(num_train=COUNT, num_bins=COUNT)
@profiles(fast={"num_train": 3000})
def mig(dataset, model, rng, *, num_train: int = 10_000, num_bins: int = 20, mode: Mode = "default"):
    """Mean over factors of (top − second) latent mutual information / factor entropy."""
    mus, ys = sample_codes(dataset, model, num_train, rng)
    mi = mutual_info_matrix(histogram_discretize(mus, num_bins), ys)  # (latents, factors)
    h = entropy(ys)
    top_two = np.sort(mi, axis=0)[::-1][:2]
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = (top_two[0] - top_two[1]) / h
    score = np.mean(gaps) if mode == "compat" else np.mean(gaps[h > 0])
    return {"mig": score, "per_factor": gaps, "mutual_information": mi}
