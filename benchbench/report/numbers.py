"""Numbers as tables show them, the same in LaTeX and HTML: per column the same count of
decimals for every value (trailing zeros trimmed only where every value allows it, so right
alignment is decimal alignment), ``mean ± std``, and the best value per group in bold where it
stands apart (:data:`BOLD_RULE`)."""

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
    #: The 95 % interval of each mean (NaN where there is none: fewer than 3 seeds).
    lows: list[float] | None = None
    highs: list[float] | None = None
    #: How many seeds each mean is over (NaN: a value that is no mean over seeds, a published
    #: one); by default, two or more where the std is given and finite, one where it is NaN.
    seeds: list[float] | None = None

    def seed_counts(self) -> np.ndarray:
        if self.seeds is not None:
            return np.asarray(self.seeds, dtype=float)
        if self.stds is None:
            return np.full(len(self.means), np.nan)
        return np.where(np.isfinite(np.asarray(self.stds, dtype=float)), 2.0, 1.0)


#: How tables choose their bold, for captions to state.
BOLD_RULE = (
    "Bold: the best mean of its group, only where it is a mean over two or more seeds, alone there, and its "
    "mean ± std does not overlap the runner-up's."
)


def _best(
    values: np.ndarray, stds: np.ndarray, groups: list, higher: bool | None, digits: int, seeds: np.ndarray
) -> np.ndarray:
    """Per row, whether it is its group's distinguishable best (:data:`BOLD_RULE`): a best that
    is a mean over one seed (``seeds``: nothing says how far its seeds could stray), ties at the shown
    precision, or bands (mean ± std, a runner-up's missing std counting as 0) that overlap the
    runner-up's, bold nothing."""
    best = np.zeros(len(values), dtype=bool)
    if higher is None:
        return best
    shown = np.round(values, digits)
    for group in dict.fromkeys(groups):
        members = np.flatnonzero(np.array([g == group for g in groups]) & np.isfinite(values))
        if members.size == 0:
            continue
        order = members[np.argsort(-shown[members] if higher else shown[members], kind="stable")]
        if seeds[order[0]] < 2:  # NaN, a published value, is no mean over seeds
            continue
        if order.size == 1:
            best[order[0]] = True
            continue
        first, second = order[0], order[1]
        spread = np.nan_to_num(stds[first]) + np.nan_to_num(stds[second])
        best[first] = shown[first] != shown[second] and abs(values[first] - values[second]) > spread
    return best


def formatted(column: Column, groups: list) -> list[tuple[str, str, bool]]:
    """Per row: the mean's text ("–" when missing), the spread's text ("± 0.12"; "± 0" when the
    seeds agree exactly; "± <0.01" for a nonzero std that rounds to zero; "" when there is
    none) and whether it is the best."""
    means = np.asarray(column.means, dtype=float)
    stds = np.asarray(column.stds if column.stds is not None else [np.nan] * len(means), dtype=float)
    d_mean = d_std = decimals(means, column.digits)  # a spread to the mean's precision
    bold = _best(means, stds, groups, column.higher, d_mean, column.seed_counts())
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


def interval_texts(column: Column) -> list[str]:
    """Per row, the interval of the mean at the mean's precision ("[0.41, 0.57]"), or ""."""
    if column.lows is None or column.highs is None:
        return [""] * len(column.means)
    digits = decimals(np.asarray(column.means, dtype=float), column.digits)
    return [
        f"[{low:.{digits}f}, {high:.{digits}f}]" if math.isfinite(low) and math.isfinite(high) else ""
        for low, high in zip(np.asarray(column.lows, dtype=float), np.asarray(column.highs, dtype=float))
    ]


def digits_for(values) -> int:
    """Decimals for a column of unknown scale: 1 from 10 up, 2 from 1, else 4."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    largest = max(finite, default=0.0)
    return 1 if largest >= 10 else 2 if largest >= 1 else 4
