"""``latent_correlation``: the seed's Tables 3–4 and Figure 2 — Pearson correlations of ``μ``.

On the test split (all of it, or ``num_images`` drawn from it): the latent × latent correlation
matrix and the latent × factor (or attribute) matrix, saved as artifacts.  Scalars: the mean
absolute off-diagonal latent correlation (DIP-VAE's target), and for each factor the best
absolute correlation with any latent and its gap to the second best.  Figure 2's data: for each
factor/attribute, the latent most correlated with it (``top_latent``) and that latent's four
most correlated other factors/attributes (``top_others``, ``top_others_corr``), with
``factor_names`` saved alongside so reports need not open the dataset.  A constant
latent (collapsed to the prior mean) correlates 0 with everything.
"""

from __future__ import annotations

import math

import numpy as np

from benchbench.api import (
    COUNT,
    better,
    bounds,
    defined_by,
    encode,
    label_names,
    labels_at,
    metrics,
    pearson_matrix,
    profiles,
    shown_as,
)


@metrics.register("latent_correlation")
@defined_by("Kumar et al. 2018 (DIP-VAE), Tables 3-4 and Figure 2")
@better(mean_abs_offdiag="lower")
@shown_as(mean_abs_offdiag="mean |off-diagonal latent correlation|")
@bounds(num_images=(2, math.inf), top=COUNT)
@profiles(fast={"num_images": 5000})
def latent_correlation(dataset, model, rng, *, num_images: int | None = None, top: int = 4):
    """Latent × latent and latent × factor correlations, with the paper's summaries."""
    indices = dataset.test_indices
    if num_images is not None and num_images < indices.size:
        indices = np.sort(rng.choice(indices, num_images, replace=False))
    mus = encode(dataset, model, indices, rng)
    labels = labels_at(dataset, indices)
    zz = pearson_matrix(mus, mus)
    zf = pearson_matrix(mus, labels)  # (latents, factors)
    d = zz.shape[0]
    out = {"mean_abs_offdiag": float(np.abs(zz[~np.eye(d, dtype=bool)]).mean()) if d > 1 else 0.0}
    ranked = np.sort(np.abs(zf), axis=0)[::-1]
    second = ranked[1] if d > 1 else np.zeros(zf.shape[1])
    for j, name in enumerate(label_names(dataset)):
        out[f"best_abs_corr.{name}"] = float(ranked[0, j])
        out[f"gap.{name}"] = float(ranked[0, j] - second[j])
    top_latent = np.argmax(np.abs(zf), axis=0)
    others = np.abs(zf[top_latent]).copy()  # (factors, factors): row a = latent z*(a) vs every factor
    np.fill_diagonal(others, -np.inf)
    n_top = min(top, zf.shape[1] - 1)
    top_others = np.argsort(-others, axis=1, kind="stable")[:, :n_top]
    out.update(
        latent_latent=zz,
        latent_factor=zf,
        top_latent=top_latent,
        top_others=top_others,
        top_others_corr=np.take_along_axis(zf[top_latent], top_others, axis=1),
        factor_names=np.array(label_names(dataset)),
    )
    return out
