"""LaTeX tables through pandas' Styler: booktabs rules, the best value per column in bold,
``mean ± std`` cells; each file compiles on its own (``standalone`` class)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREAMBLE = "\\documentclass{standalone}\n\\usepackage{booktabs}\n\\usepackage{multirow}\n\\begin{document}\n"
SYMBOLS = {"β": r"$\beta$", "λ": r"$\lambda$", "±": r"$\pm$", "_": " "}


def tex_text(text: str) -> str:
    for symbol, tex in SYMBOLS.items():
        text = str(text).replace(symbol, tex)
    return text


def standalone(tabular: str) -> str:
    return PREAMBLE + tabular + "\\end{document}\n"


def bold_best(frame: pd.DataFrame, higher_is_better: dict[str, bool], groups: pd.Series | None = None) -> pd.DataFrame:
    """CSS (``font-weight: bold``, which Styler turns into ``\\textbf``) for the best value of each
    column, within each group of rows when ``groups`` is given."""
    css = pd.DataFrame("", index=frame.index, columns=frame.columns)
    keys = groups if groups is not None else pd.Series(0, index=frame.index)
    for column, higher in higher_is_better.items():
        for _, rows in frame[column].groupby(keys.values):
            values = rows.astype(float)
            if values.notna().any():
                best = values.max() if higher else values.min()
                css.loc[values.index[np.isclose(values, best)], column] = "font-weight: bold;"
    return css


def styled(means: pd.DataFrame, stds: pd.DataFrame | None, digits: dict[str, int], css: pd.DataFrame):
    """A Styler of ``mean ± std`` text (the mean alone where the std is missing, – where both are)."""
    text = pd.DataFrame(index=means.index, columns=means.columns, dtype=object)
    for column in means.columns:
        d = digits.get(column, 2)
        for row in means.index:
            mean = means.at[row, column]
            std = stds.at[row, column] if stds is not None and column in stds else np.nan
            text.at[row, column] = (
                "–" if pd.isna(mean) else f"{mean:.{d}f}" + ("" if pd.isna(std) else f" ± {std:.{d}f}")
            )
    return text.style.apply(lambda _: css, axis=None)


def to_tex(styler) -> str:
    tex = styler.to_latex(hrules=True, convert_css=True, multirow_align="t")
    return standalone(tex_text(tex))
