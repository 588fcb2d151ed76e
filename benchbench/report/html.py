"""The report's HTML page: every table and figure with a one-line caption, readable offline
(images are files beside the page, referenced relatively)."""

from __future__ import annotations

import html
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; } p.caption { color: #444; } ul.notes { color: #a33; }
.scroll { overflow-x: auto; } img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.meta { color: #666; font-size: 0.85em; }
"""


def write_html(path: Path, run, sections, table) -> None:
    manifest = run.manifest()
    counts = table["status"].value_counts().to_dict()
    meta = (
        f"Run <b>{html.escape(run.path.name)}</b> · grid {html.escape(str(manifest.get('grid', {}).get('name')))}"
        f" · {len(table)} cells ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})"
        f" · git {html.escape(str(manifest.get('git_commit'))[:12])}"
        f" · devices {html.escape(', '.join(manifest.get('devices', [])))}"
    )
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>benchbench report: "
        f"{html.escape(run.path.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>benchbench report</h1><p class='meta'>{meta}</p>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2><p class='caption'>{html.escape(s.caption)}</p>")
        if s.html:
            parts.append(f"<div class='scroll'>{s.html}</div>")
        parts += [f"<img src='{html.escape(img)}' alt='{html.escape(s.title)}'>" for img in s.images]
        if s.notes:
            parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in s.notes) + "</ul>")
        if s.files:
            links = ", ".join(f"<a href='{html.escape(f)}'>{html.escape(f)}</a>" for f in s.files)
            parts.append(f"<p class='meta'>Files: {links}</p>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts))
