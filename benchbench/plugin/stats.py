"""Vectorised statistics shared by metric plugins: discretisation, discrete mutual information,
entropy, Pearson correlation and standardisation.  Each matches its scikit-learn / numpy counterpart (tested)."""

from __future__ import annotations

import numpy as np


def histogram_discretize(x: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Each column of ``x`` ``(n, d)`` into ``num_bins`` equal-width bins over its range, as
    disentanglement_lib does (``np.digitize`` on ``np.histogram``'s edges without the last);
    bins are numbered 1…num_bins."""
    out = np.empty(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):
        edges = np.histogram_bin_edges(x[:, j], num_bins)[:-1]  # np.histogram's edges, without its counts
        out[:, j] = np.digitize(x[:, j], edges)
    return out


def discrete_codes(column: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's place among the column's sorted distinct values, and their count
    (``np.unique``'s inverse, scikit-learn's ``LabelEncoder``); for small non-negative integers
    — bins, factor values — by counting rather than sorting."""
    if column.dtype.kind in "iu" and len(column) and 0 <= column.min() and column.max() < 4 * len(column):
        seen = np.bincount(column) > 0
        return (np.cumsum(seen) - 1)[column], int(seen.sum())
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.reshape(-1), values.size


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Discrete mutual information (nats) between every column of ``a`` ``(n, p)`` and every
    column of ``b`` ``(n, q)``: ``(p, q)``, equal to ``sklearn.metrics.mutual_info_score``."""
    n = a.shape[0]
    coded_a = [discrete_codes(a[:, i]) for i in range(a.shape[1])]
    coded_b = [discrete_codes(b[:, j]) for j in range(b.shape[1])]
    out = np.zeros((a.shape[1], b.shape[1]))
    for i, (ca, na) in enumerate(coded_a):
        pa = np.bincount(ca, minlength=na) / n
        for j, (cb, nb) in enumerate(coded_b):
            joint = np.bincount(ca * nb + cb, minlength=na * nb).reshape(na, nb) / n
            pb = np.bincount(cb, minlength=nb) / n
            nz = joint > 0
            out[i, j] = np.sum(joint[nz] * (np.log(joint[nz]) - np.log(np.outer(pa, pb)[nz])))
    return np.maximum(out, 0.0)


def entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each column of a discrete ``(n, q)`` array."""
    out = np.zeros(labels.shape[1])
    for j in range(labels.shape[1]):
        codes, k = discrete_codes(labels[:, j])
        p = np.bincount(codes, minlength=k) / labels.shape[0]
        out[j] = -np.sum(p[p > 0] * np.log(p[p > 0]))
    return out


def pearson_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation between every column of ``x`` ``(n, p)`` and of ``y`` ``(n, q)``:
    ``(p, q)``; a constant column correlates 0 with everything (numpy would give NaN)."""
    x = np.asarray(x, np.float64) - np.mean(x, axis=0)
    y = np.asarray(y, np.float64) - np.mean(y, axis=0)
    sx, sy = np.sqrt((x**2).sum(0)), np.sqrt((y**2).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x.T @ y) / np.outer(sx, sy)
    return np.where(np.outer(sx, sy) > 0, r, 0.0)


def standardise(x: np.ndarray) -> np.ndarray:
    """Each column of ``x`` to zero mean and unit variance (ddof 0, scikit-learn's
    ``StandardScaler``); a constant column is only centred."""
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
