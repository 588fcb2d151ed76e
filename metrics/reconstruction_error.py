"""``reconstruction_error``: the seed's "reconstruction error (per pixel)" on the test split.

``mse`` is the mean over test images and pixels of ``(x − x̂)²``, where ``x̂`` is the decoder
mean at ``z = μ(x)`` (no sampling, so the number is deterministic).  For Bernoulli datasets
``bce`` adds the mean per-pixel binary cross-entropy of ``x`` under ``x̂`` (``x̂`` clipped to
[1e-7, 1 − 1e-7]), i.e. the negative log-likelihood per pixel.

A dataset whose images are fixed by their index is reconstructed by index, so a model's
per-image cache serves the codes (what other metrics encoded is not encoded again); a
stochastic dataset's observations are reconstructed as drawn.
"""

from __future__ import annotations

import numpy as np

from benchbench.api import COUNT, better, bounds, defined_by, metrics, profiles, shown_as

CHUNK = 4096  # images per chunk, to bound memory on the 73,728-image shapes2d test split


@metrics.register("reconstruction_error")
@defined_by("Kumar et al. 2018 (DIP-VAE), Table 1")
@better(mse="lower", bce="lower")
@shown_as(mse="reconstruction error (squared, per pixel)", bce="reconstruction error (cross-entropy, per pixel)")
@bounds(num_images=COUNT)
@profiles(fast={"num_images": 5000})
def reconstruction_error(dataset, model, rng, *, num_images: int | None = None) -> dict[str, float]:
    """Per-pixel squared error (and BCE for binary data) over the test split.

    ``num_images``: evaluate on a random sample of this many test images (all when ``None``).
    """
    indices = np.asarray(dataset.test_indices)
    if num_images is not None and num_images < indices.size:
        indices = np.sort(rng.choice(indices, size=num_images, replace=False))
    bernoulli = dataset.likelihood == "bernoulli"
    sq_sum = bce_sum = 0.0
    pixels = 0
    for start in range(0, indices.size, CHUNK):
        chunk = indices[start : start + CHUNK]
        x = dataset.observations(chunk, rng).astype(np.float64)
        if dataset.stochastic:
            x_hat = model.reconstruct(x.astype(np.float32))
        else:
            x_hat = model.reconstruct_indices(dataset, chunk)
        x_hat = np.asarray(x_hat, dtype=np.float64)
        sq_sum += np.square(x - x_hat).sum()
        pixels += x.size
        if bernoulli:
            p = np.clip(x_hat, 1e-7, 1 - 1e-7)
            bce_sum += -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum()
    result = {"mse": sq_sum / pixels, "num_images": float(indices.size)}
    if bernoulli:
        result["bce"] = bce_sum / pixels
    return result
