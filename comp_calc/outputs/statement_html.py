"""Printable HTML statements: one self-contained page per rep, the same content as `explain`.

No external asset (CSS inline, no script, no image, no font), printable on A4,
every piece of text HTML-escaped (names, ids and products come from CSV files
anyone may have edited). Table rows are built with polars expressions from the
statement's display frames; nothing is recomputed.

Two inline SVG drawings (no script, printable): the attainment bar (credit
against the prorated quota, the tier band edges with their multipliers, the
rep's position) and the year-to-date chart (earned, clawbacks and payout of each
payouts row of the year, from `Statement.year_to_date`). Floats appear only as
drawing coordinates; every number shown is money text or a percentage from
`outputs.numbers`.

    statement_html(statement) -> str
    statement_files(result, prep) -> {"statements/<safe stem>.html": bytes} for `run --statements`
"""

from __future__ import annotations

import html
from decimal import Decimal

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
from comp_calc.outputs.numbers import exact as exact_text, percent, two_decimals

__all__ = ["STATEMENTS_DIR", "statement_files", "statement_html", "statement_name"]

STATEMENTS_DIR = "statements"

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #111; margin: 2em; font-size: 11pt; max-width: 60em; }
h1 { font-size: 16pt; margin: 0 0 .3em 0; }
h2 { font-size: 12pt; margin: 1.4em 0 .4em 0; break-after: avoid; page-break-after: avoid; }
p { margin: .15em 0; }
.quality { margin-left: 1.2em; }
table { border-collapse: collapse; margin-top: .3em; }
th, td { padding: .2em .6em; border-bottom: 1px solid #ccc; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #333; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 2px solid #333; }
.note { color: #555; }
.next-tier { font-weight: bold; margin-top: .4em; }
svg { display: block; width: 100%; max-width: 170mm; height: auto; margin: .4em 0; }
svg text { font-family: inherit; font-size: 13px; fill: #111; }
svg .band-label { font-size: 14px; font-weight: bold; fill: #1d3557; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg .position-label { font-size: 14px; font-weight: bold; fill: #c1121f; }
svg .axis-note { font-size: 12px; fill: #555; }
svg .legend, svg .tick, svg .period-label { font-size: 12px; }
td.date { white-space: nowrap; }
.chart, .summary { break-inside: avoid; page-break-inside: avoid; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print { body { margin: 0; font-size: 9pt; max-width: none; } table { font-size: 8pt; } tr { page-break-inside: avoid; } }
@page { size: A4; margin: 15mm 12mm; }
""".strip()


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _esc_expr(expr: pl.Expr) -> pl.Expr:
    """HTML escaping as a polars expression (& first, then < > " ')."""
    out = expr.cast(pl.String).fill_null("")
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        out = out.str.replace_all(raw, entity, literal=True)
    return out


DATE_CELLS = {"sold_on", "cancelled_on", "original_period"}


def _td(column: str) -> str:
    if column in NUMERIC_CELLS:
        return '<td class="num">'
    return '<td class="date">' if column in DATE_CELLS else "<td>"


def _table(frame: pl.DataFrame, headings: dict[str, str]) -> str:
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if c in NUMERIC_CELLS else f"<th>{esc(h)}</th>" for c, h in headings.items()
    )
    cells = [
        pl.concat_str([pl.lit(_td(c)), _esc_expr(pl.col(c)), pl.lit("</td>")])
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
    parts.append('<div class="chart">')
    parts.append("<h2>Attainment</h2>")
    parts.append(attainment_bar(s))
    if s.next_tier_sentence:
        parts.append(f'<p class="next-tier">{esc(s.next_tier_sentence)}</p>')
    parts.append("</div>")
    parts.append("<h2>Commission lines</h2>")
    parts.append(_table(s.commissions, COMMISSION_HEADINGS) if s.commissions.height else "<p>none</p>")
    if s.credit_note:
        parts.append(f'<p class="note credit-note">{esc(s.credit_note)}</p>')
    parts.append("<h2>Clawbacks</h2>")
    parts.append(_table(s.clawback_lines, CLAWBACK_HEADINGS) if s.clawback_lines.height else "<p>none</p>")
    if s.holdback_notes or s.release_notes:
        parts.append("<h2>Held back and released</h2>")
        parts.append("<ul>\n" + "\n".join(f"<li>{esc(n)}</li>" for n in (*s.holdback_notes, *s.release_notes)) + "\n</ul>")
    parts.append('<div class="summary">')
    parts.append("<h2>Payout</h2>")
    parts.append("<table>\n<tbody>")
    for label, amount, note in s.summary_rows():
        css = ' class="total"' if label == "Payout" else ""
        parts.append(f'<tr{css}><td>{esc(label)}</td><td class="num">{esc(amount)}</td><td class="note">{esc(note)}</td></tr>')
    parts.append("</tbody>\n</table>")
    parts.append(f'<p class="note">Payout {esc(money(s.payout))} {esc(s.currency)} for {esc(s.period)}.</p>')
    parts.append("</div>")
    if s.year_to_date is not None and s.year_to_date.height:
        parts.append('<div class="chart">')
        parts.append(f"<h2>Year to date: {esc(s.year_to_date['period'][0])} to {esc(s.period)}</h2>")
        parts.append(year_to_date_chart(s.year_to_date, s.currency))
        parts.append(_year_to_date_table(s.year_to_date))
        parts.append("</div>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------
# drawings


def _f(x: float) -> str:
    """A drawing coordinate."""
    return f"{x:.2f}"


BAND_FILLS = ("#dbe7f3", "#bcd3ea", "#9dbfe0", "#7eaad6")
BAR_W, BAR_X0, BAR_TRACK = 640, 12, 616  # the bar runs from BAR_X0 over BAR_TRACK
BAR_Y, BAR_H, BAR_SVG_H = 30, 26, 106


def attainment_bar(s: Statement) -> str:
    """The rep's attainment on a bar scaled to the quota: tier bands with their multipliers, the
    band edges and the 100% mark labelled, the position marked. A sentence instead when the
    prorated quota is 0 (no attainment)."""
    if s.attainment is None:
        why = "the quota for this period is 0" if s.quota == 0 else f"the prorated quota is 0 (active {s.active_days} of {s.period_days} days)"
        return f'<p class="no-bar">No attainment bar: {esc(why)}.</p>'
    edges = [b.up_to for b in s.bands if b.up_to is not None]
    top = float(max([Decimal(1), s.attainment, *edges])) * 1.15  # geometry only

    def x(ratio: Decimal | int) -> float:
        return BAR_X0 + float(ratio) / top * BAR_TRACK

    out = [f'<svg class="attainment-bar" viewBox="0 0 {BAR_W} {BAR_SVG_H}" role="img" aria-label="{esc(s.attainment_sentence)}">']
    out.append(f'<rect class="track" x="{BAR_X0}" y="{BAR_Y}" width="{BAR_TRACK}" height="{BAR_H}" fill="#e9e9e9"/>')
    lower: Decimal = Decimal(0)
    band_labels = []  # drawn last, over the marks
    for i, band in enumerate(s.bands):  # a handful of bands
        left, right = x(lower), (x(band.up_to) if band.up_to is not None else BAR_X0 + BAR_TRACK)
        fill = BAND_FILLS[i % len(BAND_FILLS)]
        out.append(f'<rect class="band" x="{_f(left)}" y="{BAR_Y}" width="{_f(right - left)}" height="{BAR_H}" fill="{fill}"/>')
        band_labels.append(
            f'<text class="band-label" x="{_f((left + right) / 2)}" y="{BAR_Y + 17}" text-anchor="middle">x{esc(exact_text(band.multiplier))}</text>'
        )
        lower = band.up_to if band.up_to is not None else lower
    pos = x(s.attainment)
    out.append(f'<rect class="attained" x="{BAR_X0}" y="{BAR_Y + BAR_H - 5}" width="{_f(pos - BAR_X0)}" height="5" fill="#1d3557"/>')
    labels = []  # (x, class, text) under the bar
    for up_to in edges:
        ex = _f(x(up_to))
        out.append(f'<line class="edge" x1="{ex}" x2="{ex}" y1="{BAR_Y - 4}" y2="{BAR_Y + BAR_H + 4}" stroke="#333" stroke-width="1.5"/>')
        labels.append((x(up_to), "edge-label", percent(up_to)))
    hx = _f(x(1))
    out.append(f'<line class="quota-mark" x1="{hx}" x2="{hx}" y1="{BAR_Y - 4}" y2="{BAR_Y + BAR_H + 4}" stroke="#000" stroke-width="2"/>')
    if Decimal(1) not in edges:
        labels.append((x(1), "quota-label", "100%"))
    last = None
    for lx, css, label in sorted(labels):  # a label too close to the one before goes one row lower
        row = 1 if last is not None and last[1] == 0 and lx - last[0] < 40 else 0
        out.append(f'<text class="{css}" x="{_f(lx)}" y="{BAR_Y + BAR_H + 18 + 14 * row}" text-anchor="middle">{esc(label)}</text>')
        last = (lx, row)
    px = _f(pos)
    anchor = "end" if pos > BAR_X0 + BAR_TRACK * 0.85 else ("start" if pos < BAR_X0 + BAR_TRACK * 0.15 else "middle")
    out.append(f'<line class="position" x1="{px}" x2="{px}" y1="{BAR_Y - 8}" y2="{BAR_Y + BAR_H}" stroke="#c1121f" stroke-width="3"/>')
    out.append(f'<polygon points="{_f(pos - 6)},{BAR_Y - 14} {_f(pos + 6)},{BAR_Y - 14} {px},{BAR_Y - 6}" fill="#c1121f"/>')
    out.append(
        f'<text class="position-label" x="{px}" y="{BAR_Y - 17}" text-anchor="{anchor}">{esc(two_decimals(s.attainment * 100))}%</text>'
    )
    out += band_labels
    bands_note = "; each band is paid at its tier multiplier" if s.bands else ""
    out.append(
        f'<text class="axis-note" x="{BAR_X0}" y="{BAR_SVG_H - 6}">credit as a share of the prorated quota {esc(money(s.quota_prorated))}{bands_note}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


SERIES = (("earned", "#4a7bb7"), ("clawbacks", "#c0504d"), ("payout", "#2e8b57"))
CHART_W, CHART_H = 640, 250
LEFT, RIGHT, TOP, BOTTOM = 76, 12, 34, 46


def _ticks(values: list[Decimal]) -> list[Decimal]:
    """Round amounts from at most 0 to at least 0 covering `values`, about five of them (1, 2 or 5 x 10^n apart)."""
    hi, lo = max([Decimal(0), *values]), min([Decimal(0), *values])
    span = (hi - lo) or Decimal(1)
    raw = span / 4
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    first, last = (lo / step).to_integral_value(rounding="ROUND_FLOOR"), (hi / step).to_integral_value(rounding="ROUND_CEILING")
    last = max(last, first + 1)  # every amount 0: one step above
    return [step * k for k in range(int(first), int(last) + 1)]


def year_to_date_chart(ytd: pl.DataFrame, currency: str) -> str:
    """Grouped bars per period: earned, clawbacks (below zero) and payout, with a legend, a money
    axis and the periods. `ytd` is a handful of rows (one per period of the year)."""
    rows = ytd.to_dicts()  # a handful of periods: drawing, not calculation
    values = [r[name] for r in rows for name, _ in SERIES]
    ticks = _ticks(values)
    lo, hi = ticks[0], ticks[-1]
    plot_w, plot_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM

    def y(v: Decimal) -> float:
        return TOP + float((hi - v) / (hi - lo)) * plot_h

    out = [f'<svg class="ytd-chart" viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="earned, clawbacks and payout by period">']
    for t in ticks:
        ty = _f(y(t))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{ty}" y2="{ty}" stroke="#ddd"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{_f(y(t) + 3.5)}" text-anchor="end">{esc(money(t))}</text>')
    group = plot_w / len(rows)
    bar = min(group * 0.8 / len(SERIES), 36)
    for i, r in enumerate(rows):
        gx = LEFT + i * group + (group - bar * len(SERIES)) / 2
        for j, (name, colour) in enumerate(SERIES):
            v = r[name]
            top, bottom = sorted((y(v), y(Decimal(0))))
            label = f"{r['period']} {name} {money(v)}"
            out.append(
                f'<rect class="ytd-bar" data-series="{name}" data-period="{esc(r["period"])}" data-value="{esc(money(v))}" '
                f'x="{_f(gx + j * bar)}" y="{_f(top)}" width="{_f(bar - 1)}" height="{_f(bottom - top)}" fill="{colour}"><title>{esc(label)}</title></rect>'
            )
        out.append(
            f'<text class="period-label" x="{_f(LEFT + (i + 0.5) * group)}" y="{CHART_H - BOTTOM + 14}" text-anchor="middle">{esc(r["period"])}</text>'
        )
    zy = _f(y(Decimal(0)))
    out.append(f'<line class="zero" x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{zy}" y2="{zy}" stroke="#333"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{CHART_H - BOTTOM}" stroke="#333"/>')
    out.append(f'<text class="axis-label" x="{_f(LEFT + plot_w / 2)}" y="{CHART_H - 8}" text-anchor="middle">period</text>')
    unit = currency or "amount"
    out.append(f'<text class="axis-label" x="14" y="{_f(TOP + plot_h / 2)}" text-anchor="middle" transform="rotate(-90 14 {_f(TOP + plot_h / 2)})">{esc(unit)}</text>')
    for j, (name, colour) in enumerate(SERIES):
        lx = LEFT + j * 110
        out.append(f'<rect class="swatch" x="{lx}" y="10" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text class="legend" x="{lx + 17}" y="20">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _year_to_date_table(ytd: pl.DataFrame) -> str:
    """The chart's amounts as a table, with the year's total (a polars sum)."""
    names = [name for name, _ in SERIES]
    total = ytd.select(pl.lit("Year to date").alias("period"), *[pl.col(n).sum() for n in names])
    head = "<th>period</th>" + "".join(f'<th class="num">{n}</th>' for n in names)
    body = []
    for r in pl.concat([ytd.select("period", *names), total]).to_dicts():  # a handful of rows
        css = ' class="total"' if r["period"] == "Year to date" else ""
        cells = f'<td class="ytd">{esc(r["period"])}</td>' + "".join(f'<td class="num ytd">{esc(money(r[n]))}</td>' for n in names)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def statement_name(rep_id: str) -> str:
    """`statements/<safe stem>.html`: a rep id cannot steer the file out of the statements folder."""
    return f"{STATEMENTS_DIR}/{safe_file_stem(rep_id)}.html"


def statement_files(result: RunResult, prep) -> dict[str, bytes]:
    """One HTML statement per rep present in the run's period, for the period folder."""
    currency = prep.plans.plans[0].currency if prep.plans.plans else ""
    return {statement_name(s.rep_id): statement_html(s).encode("utf-8") for s in period_statements(result, currency)}
