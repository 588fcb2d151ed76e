"""``irs``: the Interventional Robustness Score (Suter et al. 2019, "Robustly Disentangled
Causal Mechanisms"), as disentanglement_lib's ``evaluation/metrics/irs.py`` computes it.

``num_train`` images drawn uniformly are encoded (with their factors, or a labelled dataset's
labels); latents constant over the sample are dropped.
For latent ``j`` and factor ``i``: within each group of points sharing a value of factor ``i``,
the ``diff_quantile`` quantile (0.99; 1.0 is the paper's maximum) of ``|z_j − E[z_j | g_i]|``,
averaged over the groups and divided by latent ``j``'s largest deviation from its mean;
``IRS_ij = 1 −`` that.  A latent's score is its best factor's; ``irs`` is their average weighted
by each latent's largest deviation (plain mean when every deviation is 0), and 0 when no latent
varies.

``mode="compat"`` keeps two disentanglement_lib quirks: the factors are first put into
``num_bins`` (20) equal-width histogram bins, which merges the values of a factor with more
(dSprites' 32 positions and 40 orientations) into groups the paper does not form; and
``num_active_dims`` is the *sum of the active latents' values* (``np.sum`` of the matrix, not
of its mask).  The default groups by the factors' exact values and counts the active latents.
"""

from __future__ import annotations

import numpy as np
import torch

from benchbench.api import (
    COUNT,
    Mode,
    better,
    bounds,
    defined_by,
    histogram_discretize,
    metrics,
    profiles,
    sample_codes,
    shown_as,
)


def _stable_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")``, on small non-negative integers as the narrowest
    unsigned type, which numpy sorts by radix (ten times faster; a stable order is unique)."""
    if np.issubdtype(values.dtype, np.integer) and values.size and values.min() >= 0:
        values = values.astype(np.min_scalar_type(values.max()), copy=False)
    return np.argsort(values, kind="stable")


def _varying(codes: np.ndarray) -> np.ndarray:
    """``codes[:, codes.var(axis=0) > 0]``: disentanglement_lib's drop of constant latents, with its
    bits and layout (latent after latent), and numpy's variance only where a range leaves it in
    doubt.  A finite range of at least 2⁻⁵⁰ puts some code at least 2⁻⁵¹ from any mean, so a
    float32 or float64 variance is then positive however it rounds; a constant latent's can come
    out positive (its mean rounded) and a tiny range's 0, so those go to numpy."""
    if codes.dtype in (np.float32, np.float64):
        columns = np.asfortranarray(codes)  # as the selection lays them out; each latent's range at once
        with np.errstate(invalid="ignore", over="ignore"):  # inf or NaN ranges go to numpy below
            ranges = columns.max(axis=0) - columns.min(axis=0)
        if np.all(np.isfinite(ranges) & (ranges >= 2.0**-50)):
            return columns
    return codes[:, codes.var(axis=0) > 0]


def _size_classes(counts: np.ndarray) -> list[np.ndarray]:
    """The groups in classes of similar size (none over twice the class's smallest), so that
    padding each class to its largest at most doubles its memory however unequal the groups."""
    by_size = np.argsort(counts, kind="stable")
    classes, first = [], 0
    for k in range(1, by_size.size + 1):
        if k == by_size.size or counts[by_size[k]] > 2 * counts[by_size[first]]:
            classes.append(by_size[first:k])
            first = k
    return classes


def _padded_rows(starts: np.ndarray, counts: np.ndarray, members: np.ndarray, pad: int):
    """The row indices of the groups ``members`` (group ``g``: ``counts[g]`` rows from
    ``starts[g]``) side by side, ``(place, group)``, each padded to the longest with ``pad``;
    and the padding's places, flat (to fill them by index: faster than a mask over all)."""
    places = np.arange(int(counts[members].max()))[:, None]
    rows = starts[members] + places
    padding = np.flatnonzero(places >= counts[members])
    rows.ravel()[padding] = pad
    return rows, padding


def _percentiles(counts: np.ndarray, q: float, block_of, columns: int, dtype) -> np.ndarray:
    """``np.percentile(group, q, axis=0)`` of every group, ``(groups, columns)``, with its bits;
    ``block_of(members)`` gives a class of like-sized groups (:func:`_size_classes`) as
    ``(place, group, column)``, each group's values first and −∞ after them.  numpy's linear
    interpolation needs two places of each sorted group, near its top for a high ``q``, so only
    as many of each group's largest values are taken as the deepest of those places needs
    (``torch.topk``: a NaN is the largest, so the first says whether a column holds one).  Then
    numpy's arithmetic: its virtual index ``(m − 1)·q/100``, its neighbours, its two-sided lerp
    with the weight rounded to the values' dtype as a Python float is, and NaN for a column
    holding one."""
    fraction = np.true_divide(q, 100)
    virtual = (counts - 1) * fraction
    at_end = virtual >= counts - 1
    below = np.where(at_end, counts - 1, np.floor(virtual).astype(np.intp))
    above = np.where(at_end, counts - 1, below + 1)
    gamma = virtual - np.where(at_end, -1, below)  # numpy's index for "the last" is −1
    low, high, first = (np.empty((counts.size, columns), dtype) for _ in range(3))
    for members in _size_classes(counts):
        padded = block_of(members)
        depth = int((counts[members] - below[members]).max())  # places from the top that are needed
        top = torch.topk(torch.from_numpy(padded), depth, dim=0).values.numpy()  # largest first
        picks, last = np.arange(members.size), counts[members] - 1  # sorted place j: place last − j from the top
        low[members], high[members] = top[last - below[members], picks], top[last - above[members], picks]
        first[members] = top[0]
    weight, rest = (w.astype(dtype)[:, None] for w in (gamma, 1 - gamma))
    with np.errstate(invalid="ignore"):  # a NaN's column, answered NaN below
        step = high - low
        out = np.where(gamma[:, None] >= 0.5, high - step * rest, low + step * weight)
    return np.where(np.isnan(first), first, out)


def group_percentiles(values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(values[s : s + c], q, axis=0)`` for each group of rows, as a
    ``(groups, columns)`` array with the same bits, without a call per group or a full sort
    (:func:`_percentiles`)."""
    padded = np.concatenate([values, np.full((1, values.shape[1]), -np.inf, values.dtype)])
    block_of = lambda members: np.take(padded, _padded_rows(starts, counts, members, -1)[0], axis=0)  # noqa: E731
    return _percentiles(counts, q, block_of, values.shape[1], values.dtype)


def _group_spreads(latents: np.ndarray, rows: np.ndarray, padding: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``|z − mean of its group|`` of groups side by side, ``(place, group, column)``, −∞ after a
    group's values; ``latents`` end with a row of zeros, the padding's in ``rows`` (place,
    group) at the flat places ``padding``.  A group's mean has ``np.mean``'s bits: its sum is
    numpy's — row after row, as one reduction over the places gives every group at once (the
    zeros after it add nothing), or pairwise for a single latent, a call per group — divided in
    float64 and rounded, as ``np.mean``'s is (a division rounded twice is rounded once)."""
    block = np.take(latents, rows, axis=0)
    if latents.shape[1] > 1:
        sums = np.add.reduce(block, axis=0)
    else:
        sums = np.array([[np.add.reduce(block[:c, g, 0])] for g, c in enumerate(counts)], block.dtype)
    means = (sums / counts[:, None]).astype(block.dtype, copy=False)
    spread = np.abs(np.subtract(block, means, out=block), out=block)  # in place: the gather's own copy
    spread.reshape(-1, spread.shape[-1])[padding] = -np.inf
    return spread


def irs_matrix(factors: np.ndarray, latents: np.ndarray, diff_quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """``(IRS (latents, factors), each latent's largest deviation from its mean)`` of points
    ``factors (n, K)`` and ``latents (n, d)``, with disentanglement_lib's bits.  Each factor's
    groups are runs of the points stably sorted by it: the same points in the same order as a
    mask would pick them.  Every factor's groups go side by side, their spreads
    (:func:`_group_spreads`) to one :func:`_percentiles` a class of like-sized groups at a time,
    whatever the factor; each factor's groups' percentiles then add up in order."""
    n = latents.shape[0]
    columns = np.ascontiguousarray(latents.T)  # a column's largest deviation at once, not row after row
    max_deviations = np.max(np.abs(columns - latents.mean(axis=0)[:, None]), axis=1)
    padded = np.concatenate([latents, np.zeros((1, latents.shape[1]), latents.dtype)])  # row n: the padding
    orders, starts, counts = [], [], []
    for i in range(factors.shape[1]):
        order = _stable_order(factors[:, i])
        ranked = factors[order, i]
        first = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
        orders.append(order)
        starts.append(first + i * n)  # places in the factors' orders laid end to end
        counts.append(np.diff(first, append=n))
    order = np.append(np.concatenate(orders), n)  # the padding's place: the row of zeros
    every_start, every_count = np.concatenate(starts), np.concatenate(counts)

    def spreads(members):
        rows, padding = _padded_rows(every_start, every_count, members, -1)
        return _group_spreads(padded, order[rows], padding, every_count[members])

    percentiles = _percentiles(every_count, diff_quantile * 100, spreads, latents.shape[1], latents.dtype)
    ends = np.cumsum([c.size for c in counts])[:-1]
    deviations = np.stack(
        [np.cumsum(part, axis=0, dtype=np.float64)[-1] / part.shape[0] for part in np.split(percentiles, ends)], axis=1
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - deviations / max_deviations[:, None], max_deviations


@metrics.register("irs")
@defined_by("Suter et al. 2019; disentanglement_lib evaluation/metrics/irs.py")
@better(irs="higher")
@shown_as(irs="interventional robustness (IRS)")
@bounds(num_train=COUNT, diff_quantile=(0, 1), num_bins=COUNT)
@profiles(fast={"num_train": 3000})
def irs(
    dataset,
    model,
    rng,
    *,
    num_train: int = 10_000,
    diff_quantile: float = 0.99,
    num_bins: int = 20,
    mode: Mode = "default",
):
    """Interventional robustness: how little a latent moves while the factor it follows is held fixed."""
    mus, ys = sample_codes(dataset, model, num_train, rng)
    compat = mode == "compat"
    factors = histogram_discretize(ys, num_bins) if compat else ys
    active = _varying(mus)
    num_active = float(active.sum() if compat else active.shape[1])
    if active.shape[1] == 0:
        return {"irs": 0.0, "num_active_dims": num_active}
    matrix, max_deviations = irs_matrix(factors, active, diff_quantile)
    scores = matrix.max(axis=1)
    weights = max_deviations if max_deviations.sum() > 0 else None
    return {
        "irs": float(np.average(scores, weights=weights)),
        "num_active_dims": num_active,
        "per_latent": scores,
        "irs_matrix": matrix,
    }
