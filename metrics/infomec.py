"""``infomec``: InfoM, InfoE and InfoC — modularity, explicitness and compactness measured with
mutual information (Hsu et al. 2023, "Disentanglement via Latent Quantization"; the authors'
``compute_infomec`` in ``kylehkhsu/latent_quantization``, ``disentangle/metrics/infomec.py``).

``num_train`` images drawn uniformly are encoded.  The normalised mutual information of factor
(or label) i and latent j is their mutual information divided by the factor's entropy (nats):
for continuous latents, scikit-learn's ``mutual_info_classif`` (the k-nearest-neighbour estimator
of Ross 2014, ``n_neighbors = 10``) on the latent standardised to zero mean and unit variance;
for ``discrete_latents``, the plug-in ``mutual_info_score``.  Latents whose range over the sample
is below a twentieth of the largest range (any nonzero range, for discrete latents) are inactive
and left out.

* ``infom``: for each active latent, its largest NMI over factors divided by their sum, averaged
  and rescaled so that 1/K (spread evenly over K factors) is 0 and 1 is one factor per latent.
* ``infoc``: the same per factor over the A active latents, rescaled by 1/A.
* ``infoe``: for each factor, the share of its entropy a multinomial logistic regression (no
  penalty, balanced class weights, lbfgs, 100 iterations) explains from the standardised latents
  (one-hot for discrete latents): ``(H₀ − H)/H₀``, ``H`` its log loss on the sample and ``H₀``
  that of the same regression given no input; the mean over factors.

The ``nmi`` matrix (factors × latents) and the ``active_latents`` mask are artifacts.  The
estimator adds a 1e-10-scaled jitter to continuous latents; the reference leaves its seed free,
here it is drawn from the evaluation's stream, so an evaluation is reproducible.  The reference's
``penalty=None`` is written ``C = ∞`` (the same objective, and a spelling every supported
scikit-learn accepts).  A sample with one active latent has ``infoc`` undefined (0/0), as in the
reference.
"""

from __future__ import annotations

import warnings

import numpy as np

from benchbench.api import (
    COUNT,
    better,
    bounds,
    defined_by,
    discrete_codes,
    metrics,
    profiles,
    sample_codes,
    shown_as,
    standardise,
)


def nmi_matrix(factors: np.ndarray, latents: np.ndarray, discrete: bool, seed: int) -> np.ndarray:
    """Mutual information of each factor and latent over the factor's entropy: ``(K, d)``."""
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    sources = np.stack([discrete_codes(f)[0] for f in factors.T], axis=1)
    codes = np.stack([discrete_codes(z)[0] for z in latents.T], axis=1) if discrete else standardise(latents)
    out = np.empty((sources.shape[1], codes.shape[1]))
    for i, source in enumerate(sources.T):
        for j, code in enumerate(codes.T):
            if discrete:
                out[i, j] = mutual_info_score(source, code)
            else:
                out[i, j] = mutual_info_classif(
                    code[:, None], source, discrete_features=False, n_neighbors=10, random_state=seed
                )[0]
        out[i] /= mutual_info_score(source, source)
    return out


def active_latents(latents: np.ndarray, discrete: bool) -> np.ndarray:
    """The latents whose range is above a twentieth of the largest (above zero, for discrete ones)."""
    ranges = latents.max(axis=0) - latents.min(axis=0)
    return ranges > 0 if discrete else ranges > ranges.max() / 20


def rescaled_concentration(nmi: np.ndarray, axis: int) -> float:
    """Mean over the other axis of max/sum along ``axis``, mapped so 1/n → 0 and 1 → 1."""
    n = nmi.shape[axis]
    share = np.mean(nmi.max(axis=axis) / nmi.sum(axis=axis))
    return float((share - 1 / n) / (1 - 1 / n))


def log_loss_of_fit(x: np.ndarray, y: np.ndarray) -> float:
    """Log loss on its own training set of the reference's unpenalised, class-balanced multinomial regression."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    model = LogisticRegression(C=np.inf, class_weight="balanced", solver="lbfgs", max_iter=100, tol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the reference's 100 iterations, as they stop
        model.fit(x, y)
    return float(log_loss(y, model.predict_proba(x)))


def infoe(factors: np.ndarray, latents: np.ndarray, discrete: bool) -> float:
    """Mean over factors of the share of their entropy a linear probe of the latents explains."""
    if discrete:
        from sklearn.preprocessing import OneHotEncoder

        x = OneHotEncoder().fit_transform(latents)
    else:
        x = standardise(latents)
    shares = []
    for factor in factors.T:
        y, values = discrete_codes(factor)
        if values < 2:
            continue  # a factor constant over the sample has no entropy to explain
        marginal = log_loss_of_fit(np.zeros_like(latents), y)
        shares.append((marginal - log_loss_of_fit(x, y)) / marginal)
    return float(np.mean(shares))


@metrics.register("infomec")
@defined_by("Hsu et al. 2023; kylehkhsu/latent_quantization disentangle/metrics/infomec.py")
@better(infom="higher", infoe="higher", infoc="higher")
@shown_as(infom="InfoM (modularity)", infoc="InfoC (compactness)", infoe="InfoE (explicitness)")
@bounds(num_train=COUNT)
@profiles(fast={"num_train": 3000})
def infomec(dataset, model, rng, *, num_train: int = 10_000, discrete_latents: bool = False):
    """Modularity, explicitness and compactness from normalised mutual information and linear probes."""
    latents, factors = sample_codes(dataset, model, num_train, rng)
    latents = latents.astype(np.float64)
    nmi = nmi_matrix(factors, latents, discrete_latents, seed=int(rng.integers(2**31)))
    active = active_latents(latents, discrete_latents)
    pruned = nmi[:, active]
    return {
        "infom": rescaled_concentration(pruned, axis=0),
        "infoe": infoe(factors, latents, discrete_latents),
        "infoc": rescaled_concentration(pruned, axis=1),
        "nmi": nmi,
        "active_latents": active,
    }
