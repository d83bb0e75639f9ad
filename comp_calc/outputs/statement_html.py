"""Printable HTML statements: one self-contained page per rep, the same content as `explain`.

No external asset (CSS inline, no script, no image, no font), printable on A4,
every piece of text HTML-escaped (names, ids and products come from CSV files
anyone may have edited). Table rows are built with polars expressions from the
statement's display frames; nothing is recomputed.

    statement_html(statement) -> str
    statement_files(result, prep) -> {"statements/<safe stem>.html": bytes} for `run --statements`
"""

from __future__ import annotations

import html

import polars as pl

from comp_calc.engine import RunResult
from comp_calc.outputs.writer import safe_file_stem
from comp_calc.outputs.statement import (
    CLAWBACK_HEADINGS,
    COMMISSION_HEADINGS,
    NUMERIC_CELLS,
    Statement,
    money,
    period_statements,
)

__all__ = ["STATEMENTS_DIR", "statement_files", "statement_html", "statement_name"]

STATEMENTS_DIR = "statements"

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #111; margin: 2em; font-size: 11pt; }
h1 { font-size: 16pt; margin: 0 0 .3em 0; }
h2 { font-size: 12pt; margin: 1.4em 0 .4em 0; }
p { margin: .15em 0; }
.quality { margin-left: 1.2em; }
table { border-collapse: collapse; margin-top: .3em; }
th, td { padding: .2em .6em; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #333; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 2px solid #333; }
.note { color: #555; }
@media print { body { margin: 1cm; font-size: 9pt; } tr { page-break-inside: avoid; } }
@page { size: A4; margin: 1cm; }
""".strip()


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _esc_expr(expr: pl.Expr) -> pl.Expr:
    """HTML escaping as a polars expression (& first, then < > " ')."""
    out = expr.cast(pl.String).fill_null("")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        out = out.str.replace_all(raw, entity, literal=True)
    return out


def _table(frame: pl.DataFrame, headings: dict[str, str]) -> str:
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if c in NUMERIC_CELLS else f"<th>{esc(h)}</th>" for c, h in headings.items()
    )
    cells = [
        pl.concat_str([pl.lit('<td class="num">' if c in NUMERIC_CELLS else "<td>"), _esc_expr(pl.col(c)), pl.lit("</td>")])
        for c in headings
    ]
    rows = frame.select(pl.concat_str([pl.lit("<tr>"), *cells, pl.lit("</tr>")]).str.join("\n").alias("rows"))
    body = rows["rows"][0] if frame.height else ""
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def statement_html(s: Statement) -> str:
    """The statement as one self-contained, printable HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(s.title)}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(s.title)}</h1>",
    ]
    for sentence in (s.period_sentence, s.plan_sentence, s.dates_sentence, s.quota_sentence, s.attainment_sentence, s.quality_sentence):
        parts.append(f"<p>{esc(sentence)}</p>")
    if s.quality is not None:
        for m in s.quality.metrics:
            parts.append(f'<p class="quality">{esc(s.quality.metric_sentence(m))}</p>')
        parts.append(f'<p class="quality note">{esc(s.quality.window_sentence)}</p>')
    parts.append("<h2>Commission lines</h2>")
    parts.append(_table(s.commissions, COMMISSION_HEADINGS) if s.commissions.height else "<p>none</p>")
    parts.append("<h2>Clawbacks</h2>")
    parts.append(_table(s.clawback_lines, CLAWBACK_HEADINGS) if s.clawback_lines.height else "<p>none</p>")
    parts.append("<h2>Payout</h2>")
    parts.append("<table>\n<tbody>")
    for label, amount, note in s.summary_rows():
        css = ' class="total"' if label == "Payout" else ""
        parts.append(f'<tr{css}><td>{esc(label)}</td><td class="num">{esc(amount)}</td><td class="note">{esc(note)}</td></tr>')
    parts.append("</tbody>\n</table>")
    parts.append(f'<p class="note">Payout {esc(money(s.payout))} {esc(s.currency)} for {esc(s.period)}.</p>')
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def statement_name(rep_id: str) -> str:
    """`statements/<safe stem>.html`: a rep id cannot steer the file out of the statements folder."""
    return f"{STATEMENTS_DIR}/{safe_file_stem(rep_id)}.html"


def statement_files(result: RunResult, prep) -> dict[str, bytes]:
    """One HTML statement per rep present in the run's period, for the period folder."""
    currency = prep.plans.plans[0].currency if prep.plans.plans else ""
    return {statement_name(s.rep_id): statement_html(s).encode("utf-8") for s in period_statements(result, currency)}
