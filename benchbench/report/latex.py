"""Paper-ready LaTeX tables: a ``table`` float with ``\\caption`` and ``\\label``, booktabs rules,
numbers right-aligned on the decimal point, ``mean ± std`` split over two aligned columns, the
best value per column and group in bold.  ``--standalone`` wraps each float in a document that
compiles on its own.

Within a column every number has the same count of decimals (trailing zeros trimmed only where
every value of the column allows it), so right alignment is decimal alignment without siunitx.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from benchbench.report.numbers import Column, formatted, interval_texts

#: ``varwidth=\maxdimen``: each document as wide as its table (plain ``varwidth`` stops at the line
#: width and clips a wide table's last columns).
PREAMBLE = "\\documentclass[varwidth=\\maxdimen]{standalone}\n\\usepackage{booktabs}\n\\begin{document}\n"
#: Replaced in order: LaTeX's special characters first, then the symbols that become math.
SYMBOLS = {
    "_": r"\_",
    "&": r"\&",
    "%": r"\%",
    "–": "--",
    "<": "$<$",
    "λ\\_od": r"$\lambda_{od}$",
    "λ\\_d": r"$\lambda_d$",
    "β₁": r"$\beta_1$",
    "β₂": r"$\beta_2$",
    "β": r"$\beta$",
    "λ": r"$\lambda$",
    "±": r"$\pm$",
    "μ": r"$\mu$",
}
#: A column's scale, as :func:`_scaled` writes it in a header.
POWER = re.compile(r"×10\^-(\d+)")


def tex_text(text: str) -> str:
    for symbol, tex in SYMBOLS.items():
        text = str(text).replace(symbol, tex)
    return POWER.sub(r"$\\times 10^{-\1}$", text)


def _cell(text: tuple[str, str, bool], spread: bool, interval: str = "", small: bool = False) -> str:
    """A mean (bold where best) and, in the next column, its spread; ``small``: the spread one
    size smaller and unspaced (``±1.4``), as a narrow paper column holds it."""
    mean, std, bold = text
    mean = f"\\textbf{{{mean}}}" if bold else tex_text(mean)
    std = tex_text(f"{std} {interval}".strip())
    if small and std:
        std = "{\\scriptsize " + std.replace("$\\pm$ ", "$\\pm$") + "}"
    return f"{mean} & {std}" if spread else mean


def _stacked(header: str) -> str:
    """A header of several words on two lines (a nested tabular, no package needed), so long
    attribute names do not widen their column; a column's scale (``×10^-3``) on a third."""
    words, scale = header.split(" "), []
    if POWER.search(words[-1]):
        words, scale = words[:-1], [words[-1]]
    if len(words) >= 2 and len(" ".join(words)) > 10:
        half = (len(words) + 1) // 2
        words = [" ".join(words[:half]), " ".join(words[half:])]
    else:
        words = [" ".join(words)]
    lines = "\\\\".join(tex_text(line) for line in words + scale)
    return lines if len(words + scale) == 1 else f"\\begin{{tabular}}[b]{{@{{}}c@{{}}}}{lines}\\end{{tabular}}"


def tabular(
    label_headers: list[str],
    labels: list[list[str]],
    columns: list[Column],
    groups: list,
    interval: bool = False,
    paper: bool = False,
) -> str:
    """A booktabs tabular: left-aligned label columns (a count ``n`` right-aligned), then the
    numeric columns (``interval``: each mean's 95 % interval after its std); a ``\\midrule``
    between groups of rows (bold marks the best within a group).  ``paper``: a first label
    column that names each group once (a dataset, say) becomes a heading row over its group,
    so the table is one column narrower."""
    headed = paper and len(label_headers) > 1 and _names_groups(labels, groups)
    if headed:
        titles = [row[0] for row in labels]
        label_headers, labels = label_headers[1:], [row[1:] for row in labels]
        if "n" in label_headers and _names_groups([[row[label_headers.index("n")]] for row in labels], groups):
            at = label_headers.index("n")
            titles = [f"{title}, n = {row[at]}" for title, row in zip(titles, labels)]
            label_headers, labels = label_headers[:at] + label_headers[at + 1 :], [r[:at] + r[at + 1 :] for r in labels]
    if paper:
        columns = [_scaled(c) for c in columns]
    spec = "".join("r" if h == "n" else "l" for h in label_headers) + "".join(
        "r@{\\,}l" if c.stds is not None else "r" for c in columns
    )
    header = [tex_text(h) for h in label_headers] + [
        f"\\multicolumn{{2}}{{c}}{{{_stacked(c.header)}}}" if c.stds is not None else _stacked(c.header)
        for c in columns
    ]
    body = [
        [_cell(t, c.stds is not None, i if interval else "", paper) for t, i in zip(formatted(c, groups), texts)]
        for c, texts in zip(columns, (interval_texts(c) for c in columns))
    ]
    lines = [f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(header) + " \\\\", "\\midrule"]
    width = len(label_headers) + sum(2 if c.stds is not None else 1 for c in columns)
    for i, row_labels in enumerate(labels):
        if i and groups[i] != groups[i - 1]:
            lines.append("\\midrule")
        if headed and (i == 0 or groups[i] != groups[i - 1]):
            lines.append(f"\\multicolumn{{{width}}}{{l}}{{\\textit{{{tex_text(titles[i])}}}}} \\\\")
        names = [tex_text(t.replace(" = ", "=") if paper else t) for t in row_labels]
        lines.append(" & ".join(names + [cells[i] for cells in body]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def _scaled(column: Column) -> Column:
    """A column of three or more decimals whose values are all below 1, in ×10⁻ᵏ (its largest
    between 1 and 10, the header saying so), so a paper's narrow column holds ``2.1 ± 0.1``
    where ``0.0021 ± 0.0001`` would not fit."""
    largest = max((abs(v) for v in column.means if math.isfinite(v)), default=0.0)
    if not 0 < largest < 1 or column.digits < 3:
        return column
    k = -math.floor(math.log10(largest))
    times = lambda values: None if values is None else [v * 10**k for v in values]  # noqa: E731
    return replace(
        column,
        header=f"{column.header} ×10^-{k}",
        means=times(column.means),
        stds=times(column.stds),
        lows=times(column.lows),
        highs=times(column.highs),
        digits=max(column.digits - k, 1),
    )


def _names_groups(labels: list[list[str]], groups: list) -> bool:
    """Whether the first label is one per group and tells the groups apart."""
    firsts: dict = {}
    for row, group in zip(labels, groups):
        firsts.setdefault(group, set()).add(row[0])
    return all(len(v) == 1 for v in firsts.values()) and len({next(iter(v)) for v in firsts.values()}) == len(firsts)


def matrix_tabular(title: str, columns: list[str], blocks: list[tuple[list[str], object]], digits: int = 2) -> str:
    """Matrices over the same columns as one booktabs tabular: ``title`` over the row names, then
    each block's rows (a rule between blocks), each value to ``digits`` decimals (a minus sign in
    math mode, so columns align)."""
    lines = [f"\\begin{{tabular}}{{l{'r' * len(columns)}}}", "\\toprule"]
    lines.append(" & ".join([tex_text(title), *(tex_text(c) for c in columns)]) + " \\\\")
    for rows, values in blocks:
        lines.append("\\midrule")
        for name, row in zip(rows, values):
            numbers = [f"{v:.{digits}f}".replace("-", "$-$") if math.isfinite(v) else "--" for v in row]
            lines.append(" & ".join([tex_text(name), *numbers]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


#: The packages a pasted float needs, said in its first line.
PACKAGES = "booktabs,graphicx"


def _fitted(tabular: str) -> str:
    """The tabular as it is, or shrunk to the line width where it is wider and to 80 % of the
    page where it is taller (graphicx's ``\\resizebox`` with the box's own ``\\width`` and
    ``\\totalheight``): a large table never runs into the margin or off the page."""
    wide = f"\\resizebox{{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}}{{!}}{{%\n{tabular}}}"
    tall = "\\ifdim\\totalheight>0.8\\textheight0.8\\textheight\\else\\totalheight\\fi"
    return f"\\resizebox*{{!}}{{{tall}}}{{%\n{wide}}}"


def table_float(
    tabulars: list[str], caption: str, label: str, standalone: bool = False, note: str = "", paper: bool = False
) -> str:
    """A ``table`` float (or, standalone, a document per tabular) with caption and label; a skip
    parts the caption above from the table's top rule (the standard classes put none there).
    ``note``: a line under the table (a footnote).  ``paper``: 8 pt (``\\footnotesize`` in a
    10 pt paper), never scaled down to fit: a table wider than a column says so as an overfull
    box, where a shrunk one would be unreadable."""
    footer = f"\n\\par\\smallskip\n\\parbox{{\\linewidth}}{{{tex_text(note)}}}" if note else ""
    if standalone:
        return PREAMBLE + "\n\\par\\medskip\n".join(tabulars) + footer + "\n\\end{document}\n"
    inner = "\n\\medskip\n".join(tabulars if paper else [_fitted(t) for t in tabulars])
    size, gap = ("\\footnotesize", 2) if paper else ("\\small", 3)
    return (
        f"% needs \\usepackage{{{PACKAGES}}}\n"
        f"\\begin{{table}}[t]\n\\centering\n{size}\n\\setlength{{\\tabcolsep}}{{{gap}pt}}\n"
        f"\\caption{{{tex_text(caption)}}}\n\\label{{{label}}}\n\\medskip\n{inner}{footer}\n\\end{{table}}\n"
    )
