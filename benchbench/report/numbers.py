"""Numbers as tables show them, the same in LaTeX and HTML: per column the same count of
decimals for every value (trailing zeros trimmed only where every value allows it, so right
alignment is decimal alignment), ``mean ± std``, the best value per group in bold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def decimals(values, most: int) -> int:
    """The fewest decimals (≤ ``most``) that show every value rounded to ``most`` decimals."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    for d in range(most + 1):
        if all(abs(round(v, most) - round(v, d)) < 10 ** -(most + 2) for v in finite):
            return d
    return most


@dataclass
class Column:
    """A numeric column: means, optional stds (same length; NaN where there is none), at most
    ``digits`` decimals, and which way is better (``None``: no bold)."""

    header: str
    means: list[float]
    stds: list[float] | None = None
    digits: int = 2
    higher: bool | None = None


def _best(values: np.ndarray, groups: list, higher: bool | None) -> np.ndarray:
    best = np.zeros(len(values), dtype=bool)
    if higher is None:
        return best
    for group in dict.fromkeys(groups):
        members = np.array([g == group for g in groups]) & np.isfinite(values)
        if members.any():
            target = values[members].max() if higher else values[members].min()
            best |= members & np.isclose(values, target, rtol=0, atol=1e-12)
    return best


def formatted(column: Column, groups: list) -> list[tuple[str, str, bool]]:
    """Per row: the mean's text ("–" when missing), the spread's text ("± 0.12"; "± 0" when the
    seeds agree exactly; "± <0.01" for a nonzero std that rounds to zero; "" when there is
    none) and whether it is the best."""
    means = np.asarray(column.means, dtype=float)
    stds = np.asarray(column.stds if column.stds is not None else [np.nan] * len(means), dtype=float)
    d_mean = d_std = decimals(means, column.digits)  # a spread to the mean's precision
    bold = _best(means, groups, column.higher)
    out = []
    for mean, std, strong in zip(means, stds, bold):
        text = "–" if not math.isfinite(mean) else f"{mean:.{d_mean}f}"
        if not math.isfinite(std):
            spread = ""
        elif std == 0:
            spread = "± 0"  # seeds that agree exactly
        elif round(std, d_std) == 0:
            spread = f"± <{10**-d_std:.{d_std}f}"
        else:
            spread = f"± {std:.{d_std}f}"
        out.append((text, spread, bool(strong and math.isfinite(mean))))
    return out


def digits_for(values) -> int:
    """Decimals for a column of unknown scale: 1 from 10 up, 2 from 1, else 4."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    largest = max(finite, default=0.0)
    return 1 if largest >= 10 else 2 if largest >= 1 else 4
