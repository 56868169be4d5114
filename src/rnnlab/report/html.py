"""Building blocks of a self-contained report.html: embedded PNGs, check tables, the page."""

import base64
import html
from pathlib import Path

STYLE = """body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.4 }
table { border-collapse: collapse; font-size: 85%; margin: 1em 0 }
td, th { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top }
tr.fail td { background: #fdd } tr.pass td:last-child { background: #dfd }
img { max-width: 48%; margin: 2px }"""


def image(path: Path) -> str:
    """An <img> with the PNG at ``path`` embedded as base64."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def checks_table(checks: list[dict]) -> str:
    """A table of checks: name, value, the paper's value, criterion, passed."""
    rows = []
    for c in checks:
        mark = "pass" if c["passed"] else ("fail" if c.get("required", True) else "not met")
        value = c["value"] if isinstance(c["value"], str) else f"{c['value']:.3g}"
        rows.append(
            f"<tr class='{mark}'><td>{html.escape(c['name'])}</td><td>{value}</td>"
            f"<td>{html.escape(str(c['paper']))}</td><td>{html.escape(c['criterion'])}</td>"
            f"<td>{mark}</td></tr>"
        )
    return ("<table><tr><th>check</th><th>ours</th><th>paper</th><th>criterion</th><th></th>"
            "</tr>" + "".join(rows) + "</table>")  # fmt: skip


def page(title: str, intro: str, sections: list[str]) -> str:
    """The whole page: ``intro`` and ``sections`` are HTML fragments."""
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{intro}{''.join(sections)}</body></html>")  # fmt: skip
