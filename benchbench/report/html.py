"""The report's HTML page: a header with the run's settings, then every table and figure with
its caption, notes and files — readable offline (images are files beside the page)."""

from __future__ import annotations

import html
from pathlib import Path

from benchbench.report.numbers import formatted, interval_texts

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { background: #f6f6f6; } td.label, th.label { text-align: left; } tr.group td { border-top: 2px solid #ccc; }
p.caption { color: #444; } ul.notes { color: #a33; } .warning { background: #fff4e0; padding: 0.5em 1em; }
.scroll { overflow-x: auto; } img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.meta { color: #666; font-size: 0.85em; } dl.settings dt { font-weight: 600; float: left; clear: left; width: 14em; }
dl.settings dd { margin-left: 14.5em; }
table.plain td, table.plain th { text-align: left; white-space: normal; }
"""


def _number_cell(mean: str, spread: str, bold: bool, interval: str) -> str:
    text = html.escape(f"{mean} {spread} {interval}".strip())
    return f"<td>{f'<b>{text}</b>' if bold else text}</td>"


def table_html(table) -> str:
    """A :class:`benchbench.report.Table` as HTML, numbers formatted as in its LaTeX."""
    head = "".join(f"<th class='label'>{html.escape(h)}</th>" for h in table.label_headers)
    head += "".join(f"<th>{html.escape(c.header)}</th>" for c in table.columns)
    texts = [formatted(c, table.groups) for c in table.columns]
    intervals = [interval_texts(c) for c in table.columns]
    rows = []
    for i, labels in enumerate(table.labels):
        group = " class='group'" if i and table.groups[i] != table.groups[i - 1] else ""
        cells = "".join(f"<td class='label'>{html.escape(t)}</td>" for t in labels)
        cells += "".join(_number_cell(*column[i], interval[i]) for column, interval in zip(texts, intervals))
        rows.append(f"<tr{group}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def rows_table_html(corner: str, headers: list[str], rows, width: int) -> str:
    """Quantities as rows (each a :class:`benchbench.report.numbers.Column` over the columns
    ``headers``: its own unit, precision and direction), the best of each whole row in bold, in
    tables of at most ``width`` columns."""
    texts = [list(zip(formatted(row, [0] * len(row.means)), interval_texts(row))) for row in rows]
    tables = []
    for start in range(0, len(headers), width):
        shown = slice(start, start + width)
        head = f"<th class='label'>{html.escape(corner)}</th>"
        head += "".join(f"<th>{html.escape(h)}</th>" for h in headers[shown])
        body = "".join(
            f"<tr><td class='label'>{html.escape(row.header)}</td>"
            + "".join(_number_cell(*text, interval) for text, interval in cells[shown])
            + "</tr>"
            for row, cells in zip(rows, texts)
        )
        tables.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(tables)


def frame_html(frame) -> str:
    """A plain DataFrame as a table (no index)."""
    return frame.to_html(index=False, border=0, na_rep="", escape=True, classes="plain")


def write_html(path: Path, title: str, header: list[tuple[str, str]], warnings: list[str], sections) -> None:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>benchbench report: "
        f"{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>benchbench report: {html.escape(title)}</h1>",
        "<dl class='settings'>"
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in header)
        + "</dl>",
    ]
    parts += [f"<p class='warning'>{html.escape(w)}</p>" for w in warnings]
    parts.append(
        "<p class='meta'>Contents: "
        + " · ".join(f"<a href='#{html.escape(s.anchor)}'>{html.escape(s.title)}</a>" for s in sections)
        + "</p>"
    )
    for s in sections:
        parts.append(f"<h2 id='{html.escape(s.anchor)}'>{html.escape(s.title)}</h2>")
        parts.append(f"<p class='caption'>{html.escape(s.caption)}</p>")
        if s.html:
            parts.append(f"<div class='scroll'>{s.html}</div>")
        parts += [f"<img src='{html.escape(img)}' alt='{html.escape(s.title)}'>" for img in s.images]
        if s.notes:
            parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in s.notes) + "</ul>")
        if s.files:
            links = ", ".join(f"<a href='{html.escape(f)}'>{html.escape(f)}</a>" for f in s.files)
            parts.append(f"<p class='meta'>Files: {links}</p>")
    parts.append("</body></html>\n")
    path.write_text("\n".join(parts))
