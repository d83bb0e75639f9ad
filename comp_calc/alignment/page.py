"""`alignment --format html`: one self-contained page (inline CSS and SVG, no script, nothing fetched).

- pay versus CSAT and pay versus NPS over the trailing window: one point per rep ranked on
  the survey (at least `min_survey_answers` answers), one colour per team, flagged reps ringed
  and labelled;
- outcome share of pay per plan (the trailing window and the period), the volume-only
  threshold marked;
- the flags with their reasons, as in the JSON.

Floats are chart geometry only; every number shown is text from `comp_calc.outputs.numbers`
(amounts through the report's own money text).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from comp_calc.alignment.report import AlignmentReport
from comp_calc.alignment.text import money_text, pct
from comp_calc.outputs import numbers

# colours that stay apart for colour-blind readers (Okabe-Ito)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 20, 56

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 2em auto; max-width: 1000px; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 2em; }
.note { color: #555; } .charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { color: #555; font-size: 0.9em; max-width: 640px; }
svg text { font: 12px system-ui, sans-serif; fill: #333; } svg .axis { stroke: #888; } svg .grid { stroke: #e4e4e4; }
svg .threshold { stroke: #c00; stroke-width: 2; stroke-dasharray: 6 4; } svg .flag { fill: none; stroke: #c00; stroke-width: 2; }
svg .thin { fill: none; stroke: #999; stroke-width: 1; stroke-dasharray: 2 2; }
.legend span { display: inline-block; margin-right: 1.2em; } .swatch { display: inline-block; width: 0.8em; height: 0.8em;
  border-radius: 50%; margin-right: 0.3em; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 0.35em 0.6em;
  border-bottom: 1px solid #ddd; } th { background: #f4f4f4; } td.signal { font-weight: 600; color: #a00; white-space: nowrap; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    start: float  # pixel of `low`
    end: float  # pixel of `high`

    def at(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)


def nice_ticks(top: Decimal, count: int = 4) -> list[Decimal]:
    """0 up to at least `top` in `count` or so steps of 1, 2 or 5 times a power of ten (exact)."""
    top = top if top > 0 else Decimal(1)
    raw = top / count
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * m for m in (1, 2, 5, 10) if base * m >= raw)
    ticks = [Decimal(0)]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _svg_open(chart_id: str, label: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
    )


def _c(value: float) -> str:
    return numbers.coordinate(value)


EACH_CURRENCY = "each rep's plan currency"  # the unit of a pay axis when reps are paid in several


def _scatter(report: AlignmentReport, chart_id: str, title: str, n: str, value: str, x_label: str,
             x_ticks: list[tuple[float, str]], x_range: tuple[float, float], teams: dict[str, str]) -> str:
    rules = report.rules
    reps = report.trailing.reps.filter((pl.col(n) >= rules.min_survey_answers) & pl.col(value).is_not_null())
    flagged = report.flags.group_by("rep_id").agg(
        _flags=pl.format("{} ({})", "signal", "window").unique(maintain_order=True).str.join(", "),
        _behaviour=(pl.col("signal") != "thin_survey").any(),
    )
    # one currency: the report's; several: each point names its rep's own (the axis mixes them, never a sum)
    unit = pl.lit(f" {report.currency}") if report.currency else pl.lit(" ") + pl.col("currency")
    points = (
        reps.join(flagged, on="rep_id", how="left")
        .with_columns(
            _x=pl.col(value).cast(pl.Float64),
            _y=pl.col("payout").cast(pl.Float64),  # geometry only
            _tip=pl.format(
                "{} {}, {}: payout {}{}, {} ({} answers){}",
                "rep_id", "name", "team", money_text(pl.col("payout")), unit, measure_text(value),
                n, pl.when(pl.col("_flags").is_not_null()).then(pl.lit("; flags: ") + pl.col("_flags")).otherwise(pl.lit("")),
            ),
        )
        .sort("rep_id")
        .select("rep_id", "team", "_x", "_y", "_tip", flagged=pl.col("_flags").is_not_null(), behaviour=pl.col("_behaviour").fill_null(False))
    )
    ticks = nice_ticks(Decimal(str(reps["payout"].max() or 0)))
    xa = Axis(*x_range, LEFT, WIDTH - RIGHT)
    ya = Axis(0.0, float(ticks[-1]), HEIGHT - BOTTOM, TOP)
    out = [f"<figure>{_svg_open(chart_id, title)}"]
    for t in ticks:
        y = ya.at(float(t))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_c(y)}" y2="{_c(y)}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{_c(y + 4)}" text-anchor="end">{_e(numbers.plain(t))}</text>')
    for v, label in x_ticks:
        x = xa.at(v)
        out.append(f'<line class="grid" x1="{_c(x)}" x2="{_c(x)}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        out.append(f'<text x="{_c(x)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_e(label)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>')
    out.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 12}" text-anchor="middle">{_e(x_label)}</text>')
    mid = (TOP + HEIGHT - BOTTOM) / 2
    y_label = f"payout ({report.currency or EACH_CURRENCY})"
    out.append(f'<text x="16" y="{_c(mid)}" text-anchor="middle" transform="rotate(-90 16 {_c(mid)})">{_e(y_label)}</text>')
    for rep_id, team, x, y, tip, flag, behaviour in points.rows():  # a small, computed frame: one row per rep
        cx, cy = _c(xa.at(x)), _c(ya.at(y))
        out.append(
            f'<circle data-rep="{_e(rep_id)}" data-flagged="{"true" if flag else "false"}" cx="{cx}" cy="{cy}" r="5" '
            f'fill="{teams[team]}" fill-opacity="0.8"><title>{_e(tip)}</title></circle>'
        )
        if behaviour:  # mis-selling, contact gaming, pay versus satisfaction, survey pattern: ringed and named
            out.append(f'<circle class="flag" cx="{cx}" cy="{cy}" r="9"/>')
            out.append(f'<text x="{_c(xa.at(x) + 11)}" y="{_c(ya.at(y) + 4)}">{_e(rep_id)}</text>')
        elif flag:  # thin_survey only: a quieter ring
            out.append(f'<circle class="thin" cx="{cx}" cy="{cy}" r="8"/>')
    out.append("</svg>")
    out.append(
        f"<figcaption>{_e(title)}: one point per rep with at least {rules.min_survey_answers} answers "
        f"({points.height} reps). Red ring and name: a flag for mis-selling, contact gaming, pay versus satisfaction or "
        "a survey pattern; grey dashed ring: thin_survey only. Hover a point for its numbers.</figcaption></figure>"
    )
    return "".join(out)


def measure_text(value: str) -> pl.Expr:
    """The survey value of a point's tooltip: `CSAT 80.00% satisfied`, `NPS 12.5 points`."""
    if value == "_csat_float":
        return pl.format("CSAT {} satisfied", pct(pl.col("csat_share")))
    return pl.format("NPS {} points", pl.col("nps"))


def _bars(report: AlignmentReport) -> str:
    share = report.rules.volume_only_share
    trl = report.trailing.plans.select("plan", "outcome_share", "outcome_moved", "volume_pay")
    cur = report.current.plans.select("plan", "outcome_share")
    frame = pl.concat(
        [
            trl.select("plan", "outcome_share", window=pl.lit(f"trailing {report.trailing.window.describe()}")),
            cur.select("plan", "outcome_share", window=pl.lit(f"period {report.period.label}")),
        ]
    ).with_columns(_v=pl.col("outcome_share").cast(pl.Float64), _label=pct(pl.col("outcome_share")))
    plans = trl["plan"].to_list()
    top = max([float(share) * 2, *(v for v in frame["_v"].to_list() if v is not None)])
    top = min(1.0, (int(top * 10) + 1) / 10)  # the next 10%
    row, bar, left, width, room = 64, 22, 160, WIDTH + 200, 240  # room: for the labels right of the bars
    height = TOP + row * len(plans) + BOTTOM
    xa = Axis(0.0, top, left, width - room)
    out = [f"<figure>{_svg_open('outcome-share', 'Outcome share of pay by plan', width, height)}"]
    steps = int(round(top * 10))
    for i in range(steps + 1):
        x = xa.at(i / 10)
        out.append(f'<line class="grid" x1="{_c(x)}" x2="{_c(x)}" y1="{TOP}" y2="{height - BOTTOM}"/>')
        out.append(f'<text x="{_c(x)}" y="{height - BOTTOM + 16}" text-anchor="middle">{_e(numbers.plain(Decimal(i * 10)))}%</text>')
    shades = {0: "#0072B2", 1: "#9ecae1"}
    for p, plan in enumerate(plans):
        y0 = TOP + p * row + 6
        out.append(f'<text x="{left - 8}" y="{_c(y0 + bar)}" text-anchor="end">{_e(plan)}</text>')
        mine = frame.filter(pl.col("plan") == plan)
        for k, (window, v, label) in enumerate(mine.select("window", "_v", "_label").rows()):
            y = y0 + k * (bar + 2)
            w = xa.at(v or 0.0) - left
            out.append(
                f'<rect data-plan="{_e(plan)}" data-window="{_e(window)}" x="{left}" y="{_c(y)}" width="{_c(w)}" height="{bar}" '
                f'fill="{shades[k]}"><title>{_e(plan)}, {_e(window)}: {_e(label or "n/a")}</title></rect>'
            )
            out.append(f'<text x="{_c(left + w + 4)}" y="{_c(y + bar - 6)}">{_e(label or "n/a")} ({_e(window)})</text>')
    x = xa.at(float(share))
    said = f"volume-only below {numbers.plain((share * 100).normalize())}%"
    out.append(f'<line class="threshold" x1="{_c(x)}" x2="{_c(x)}" y1="{TOP - 6}" y2="{height - BOTTOM}"/>')
    out.append(f'<text x="{_c(x + 4)}" y="{TOP - 8 if TOP > 12 else 12}" fill="#c00">{_e(said)}</text>')
    out.append(f'<text x="{_c((left + width - room) / 2)}" y="{height - 12}" text-anchor="middle">'
               "outcome share of pay (%)</text></svg>")
    out.append(
        "<figcaption>Share of pay moved by customer-outcome terms: (|quality multiplier effect| + |relationship credit| "
        f"+ |clawbacks| + |outcome bonuses|) / (volume pay + activity bonuses + that); dark: the trailing window, light: the period. Dashed: {_e(said)}."
        "</figcaption></figure>"
    )
    return "".join(out)


def _flags(report: AlignmentReport) -> str:
    rows = report.flags.select("rep_id", "team", "signal", "window", "measure", "reason").rows()
    if not rows:
        return "<p>No flags.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("rep", "team", "signal", "window", "value, threshold", "reason"))
    body = "".join(
        f"<tr><td>{_e(r)}</td><td>{_e(t)}</td><td class=\"signal\">{_e(s)}</td><td>{_e(w)}</td><td>{_e(m)}</td><td>{_e(why)}</td></tr>"
        for r, t, s, w, m, why in rows
    )
    return f'<table id="flags"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(report: AlignmentReport) -> str:
    """The page as text."""
    trl = report.trailing
    teams = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(trl.reps["team"].unique().sort().to_list())}
    legend = "".join(f'<span><i class="swatch" style="background:{c}"></i>{_e(t)}</span>' for t, c in teams.items())
    pct_ticks = [(v / 4, f"{numbers.plain(Decimal(25 * v))}%") for v in range(5)]
    nps_ticks = [(float(v), numbers.plain(Decimal(v))) for v in range(-100, 101, 50)]
    csat = _scatter(report, "pay-csat", f"Pay versus CSAT, {trl.window.describe()}", "csat_n", "_csat_float", "CSAT: share of answers 4 or 5 (%)", pct_ticks, (0.0, 1.0), teams)
    nps = _scatter(report, "pay-nps", f"Pay versus NPS, {trl.window.describe()}", "nps_n", "_nps_float",
                   "NPS (points)", nps_ticks, (-100.0, 100.0), teams)
    counts = ", ".join(f"{s} {report.flags.filter(pl.col('signal') == s).height}" for s in ("mis_selling", "contact_gaming",
                       "pay_vs_satisfaction", "thin_survey", "survey_pattern"))
    thin = report.thin_without_edge
    thin_note = (
        f" {thin} more rep{'s have' if thin != 1 else ' has'} a wide CSAT interval holding no band edge "
        "(the multiplier is the same at either end): not flagged." if thin else ""
    )
    unit = f"Amounts in {_e(report.currency)}. " if report.currency else "Amounts are in each rep's plan currency, never added across currencies. "
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>Alignment {_e(report.period.label)}</title>'
        f"<style>{CSS}</style></head><body>"
        f"<h1>Alignment {_e(report.period.label)}</h1>"
        f'<p class="note">Does the plan pay for what the customer values? Period {_e(report.period.label)} and the trailing '
        f"{len(trl.window.periods)} periods ({_e(trl.window.describe())}), {trl.reps.height} reps. {unit}"
        f"Flags: {_e(counts)}.{_e(thin_note)}</p>"
        f"<h2>Pay versus satisfaction</h2><p class=\"legend\">{legend}</p>"
        f'<div class="charts">{csat}{nps}</div>'
        f"<h2>Outcome share of pay by plan</h2>{_bars(report)}"
        f"<h2>Flags</h2>{_flags(report)}"
        "</body></html>\n"
    )
