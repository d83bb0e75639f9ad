"""One rep's statement for one period, as a person reads it.

A statement is read off a run's `RunResult`: the header from the rep's grid
row (quota, credited, attainment, quality detail, cap, clawbacks, carry,
payout) and the lines from the run's lines, so every number on it is the
number `run` writes to payouts.csv and lines.csv. Nothing is recomputed here;
the only arithmetic is for display (a CSAT share as a percentage, an NPS value
to two decimals), never for an amount.

    statement_for(result, inputs, rep_id, currency)  one rep -> Statement, or UsageError
    period_statements(result, currency)             every rep present in the period
    statement_dict(statement)                       the JSON form (`explain --format json`)
    next_tier_step(bands, quota, active, days, credited)  the credit still needed to reach the next tier edge

A statement also carries what the HTML page draws: its plan version's tier bands
(`Band`), and the year to date (`year_to_date`: earned, clawbacks and payout of
each payouts row of the rep from January of the statement's year, or from the
first computed period, up to the statement's period), read off the same grid.

The line tables are built for the whole period at once with polars
expressions (`line_tables`) and already hold display text, so the terminal
table, the JSON and the HTML statement show the same cells.

Codes of `UsageError` (exit 2):
    unknown-rep           the rep id is not in reps.csv (or its row was rejected)
    other-period-kind     the rep's plan is paid by quarter and the period is a month, or the reverse
    rep-not-in-period     the rep is neither active in the period nor has a line in it
    no-data-in-period     no sale, cancellation, response or contact is dated in the period
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import polars as pl

from comp_calc.data.model import Inputs
from comp_calc.engine import RunResult
from comp_calc.outputs.lines import period_lines
from comp_calc.outputs.numbers import restatement_text
from comp_calc.outputs.restated import restated_periods
from comp_calc.errors import UsageError
from comp_calc.periods import Period, period_containing
from comp_calc.outputs.numbers import (
    activity_bonus_text, clawback_base_text, column_exact_text, draw_text, exact, holdback_text, money, money_text,
    outcome_bonus_text, override_text, percent, release_text, spif_campaign_text, spif_terms_text, tier_pieces_text,
    two_decimals,
)  # fmt: skip

__all__ = [
    "Band",
    "MetricDetail",
    "QualityDetail",
    "Statement",
    "check_period_has_data",
    "spif_tables",
    "exact",
    "line_tables",
    "money",
    "next_tier_step",
    "period_statements",
    "statement_dict",
    "statement_for",
    "year_to_date",
]


COMMISSION_COLUMNS = ["sale_id", "sold_on", "product", "role", "credited", "rate", "tiers", "quality_multiplier", "amount"]
CLAWBACK_COLUMNS = [
    "sale_id", "product", "role", "sold_on", "cancelled_on", "days", "rule", "recover", "original_amount",
    "original_period", "amount",
]  # fmt: skip
COMMISSION_HEADINGS = {
    "sale_id": "sale",
    "sold_on": "sold on",
    "product": "product",
    "role": "role",
    "credited": "credited",
    "rate": "rate",
    "tiers": "tier pieces",
    "quality_multiplier": "quality",
    "amount": "amount",
}
CLAWBACK_HEADINGS = {
    "sale_id": "sale",
    "product": "product",
    "role": "role",
    "sold_on": "sold on",
    "cancelled_on": "cancelled",
    "days": "days",
    "rule": "window hit",
    "recover": "recover",
    "original_amount": "of paid",
    "original_period": "paid in",
    "amount": "amount",
}
SPIF_COLUMNS = ["sale_id", "sold_on", "product", "campaign", "credited", "terms", "amount"]
SPIF_HEADINGS = {
    "sale_id": "sale",
    "sold_on": "sold on",
    "product": "product",
    "campaign": "campaign",
    "credited": "credited",
    "terms": "pays",
    "amount": "amount",
}
NUMERIC_CELLS = {"credited", "rate", "quality_multiplier", "amount", "days", "recover", "original_amount"}
YEAR_TO_DATE_COLUMNS = ["period", "earned", "clawbacks", "payout"]


# --------------------------------------------------------------------------
# the statement


@dataclass(frozen=True)
class Band:
    """A tier band of the plan version: up to `up_to` x the prorated quota (None: open), paid at `multiplier`."""

    up_to: Decimal | None
    multiplier: Decimal


def next_tier_step(
    bands: tuple[Band, ...], quota: Decimal, active_days: int, period_days: int, credited: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """(credit still needed, the edge's up_to, multiplier now, multiplier from the edge on), or None
    when the credit is at or above the last edge.

    Exact: the edge sits at up_to * quota * active_days / period_days (the prorated quota is not
    rounded first), a band is [lower, upper), so credit exactly at an edge is already in the next
    band. The credit needed is rounded up to cents, so it does reach the edge.
    Example: quota 1000, active 15 of 31 days, edge 0.5, credited 123.4567:
    7500/31 - 123.4567 = 118.47878... -> 118.48.
    """
    for band, after in zip(bands, bands[1:]):
        if band.up_to is None:
            break
        edge = Fraction(band.up_to) * Fraction(quota) * active_days / period_days
        if edge > Fraction(credited):
            needed = edge - Fraction(credited)
            cents = -((-needed.numerator * 100) // needed.denominator)  # ceiling
            return Decimal(cents).scaleb(-2), band.up_to, band.multiplier, after.multiplier
    return None


@dataclass(frozen=True)
class MetricDetail:
    metric: str  # "csat" | "nps" | "ces"
    responses: int
    value_num: int  # csat: responses scoring 4 or 5; nps: 100 * (promoters - detractors); ces: sum of scores
    multiplier: Decimal
    counted: bool  # at least min_responses responses; otherwise the metric counts as 1

    @property
    def label(self) -> str:
        return self.metric.upper()

    @property
    def value_text(self) -> str:
        """`80.00% (8 of 10 scored 4-5)`, `54.55 (11 responses)` (nps) or `5.25 (4 responses)`
        (the mean ces score): display only."""
        if self.responses == 0:
            return "no responses"
        if self.metric == "csat":
            pct = Decimal(self.value_num) * 100 / Decimal(self.responses)
            return f"{two_decimals(pct)}% ({self.value_num} of {self.responses} scored 4-5)"
        value = Decimal(self.value_num) / Decimal(self.responses)
        noun = "response" if self.responses == 1 else "responses"
        return f"{two_decimals(value)} ({self.responses} {noun})"


@dataclass(frozen=True)
class QualityDetail:
    multiplier: Decimal
    combine: str  # "multiply" | "min"
    window_days: int
    window_start: date
    window_end: date
    min_responses: int
    metrics: tuple[MetricDetail, ...]

    @property
    def formula(self) -> str:
        parts = [f"{m.label} x{exact(m.multiplier)}" for m in self.metrics]
        if not parts:
            return ""
        if self.combine == "min":
            return "the lower of " + " and ".join(parts)
        return " times ".join(parts)

    def metric_sentence(self, m: MetricDetail) -> str:
        if m.counted:
            return f"{m.label} {m.value_text}: x{exact(m.multiplier)}"
        return (
            f"{m.label} {m.value_text}: fewer than {self.min_responses} responses, counts as x{exact(m.multiplier)}"
        )

    @property
    def window_sentence(self) -> str:
        return (
            f"responses dated {self.window_start} to {self.window_end} ({self.window_days} days); "
            f"a survey needs at least {self.min_responses} to count"
        )


@dataclass(frozen=True)
class Statement:
    rep_id: str
    name: str
    team: str
    plan: str
    version: int
    effective_from: date
    currency: str
    period: str
    period_start: date
    period_end: date
    period_days: int
    start_date: date
    end_date: date | None
    active_days: int
    quota: Decimal  # the full quota of a period, as in reps.csv
    quota_prorated: Decimal  # as payouts.csv shows it (cents)
    credited: Decimal
    attainment: Decimal | None
    quality: QualityDetail | None
    commissions: pl.DataFrame  # COMMISSION_COLUMNS + explanation, display text
    clawback_lines: pl.DataFrame  # CLAWBACK_COLUMNS + explanation, display text
    earned: Decimal
    cap: Decimal | None
    cap_adjustment: Decimal | None
    clawbacks: Decimal
    carry_in: Decimal
    payout: Decimal
    carry_out: Decimal
    negative_balance: str
    outcome_bonus: Decimal = Decimal("0.00")  # SPEC 6.3 step 4b; 0.00 without an outcome_bonus line
    outcome_bonus_note: str = ""  # the outcome_bonus line's explanation (metric value, responses, band)
    draw: Decimal = Decimal("0.00")  # SPEC 6.3 step 8: the draw line (a top-up > 0, a recovery < 0), 0.00 without one
    draw_note: str = ""  # the draw line's explanation
    draw_amount: Decimal | None = None  # the plan version's draw a period (None: no draw)
    draw_recoverable: bool | None = None  # None: no draw
    draw_due: Decimal = Decimal("0.00")  # the rep's draw for the period (prorated)
    draw_balance: Decimal = Decimal("0.00")  # owed back from later pay, after this period
    holdback: Decimal = Decimal("0.00")  # SPEC 6.3 step 6b: the holdback lines (negative) and the release lines
    released: Decimal = Decimal("0.00")
    holdback_notes: tuple[str, ...] = ()  # one sentence per holdback line, in line order
    release_notes: tuple[str, ...] = ()  # one sentence per release line, in line order
    activity_bonus: Decimal = Decimal("0.00")  # SPEC 6.3 step 4c; 0.00 without an activity_bonus line
    activity_bonus_note: str = ""  # the activity_bonus line's explanation (count, target, contacts left out)
    spifs: Decimal = Decimal("0.00")  # SPEC 6.3 step 3b: the sum of the spif lines
    spif_lines: pl.DataFrame | None = None  # SPIF_COLUMNS + explanation, display text; None: no spif line
    overrides: Decimal = Decimal("0.00")  # SPEC 6.3 step 4d: the override lines, 0.00 without one
    override_notes: tuple[str, ...] = ()  # one sentence per override line (report, net credit, rate), by report
    restatement: Decimal = Decimal("0.00")  # SPEC 6.3 step 9: the restatement line, 0.00 without one
    restatement_open: Decimal = Decimal("0.00")  # due minus the line: found again by the next run
    restatement_note: str = ""  # the restatement line's explanation
    restated: tuple = ()  # `outputs.restated.RestatedPeriod` per closed period whose payout differs
    has_tiers: bool = False
    retroactive: bool = False  # tier_mode: retroactive: the final band applies to every line of the period
    bands: tuple[Band, ...] = ()  # the plan version's tier bands, in order (none without tiers)
    year_to_date: pl.DataFrame | None = None  # YEAR_TO_DATE_COLUMNS, one row per payouts row of the rep

    @property
    def quality_multiplier(self) -> Decimal:
        return self.quality.multiplier if self.quality else Decimal(1)

    # sentences shared by the terminal and the HTML statement

    @property
    def title(self) -> str:
        return f"Statement {self.period} for {self.rep_id} {self.name} ({self.team})"

    @property
    def period_sentence(self) -> str:
        return f"Period {self.period}: {self.period_start} to {self.period_end}"

    @property
    def plan_sentence(self) -> str:
        cur = f"; amounts in {self.currency}" if self.currency else ""
        return f"Plan {self.plan} version {self.version} (in force from {self.effective_from}){cur}"

    @property
    def dates_sentence(self) -> str:
        end = f"to {self.end_date}" if self.end_date else "with no end date"
        return f"Employed from {self.start_date} {end}: active {self.active_days} of {self.period_days} days of the period"

    @property
    def quota_sentence(self) -> str:
        if self.active_days == self.period_days:
            return f"Quota {money(self.quota_prorated)}"
        return (
            f"Quota {money(self.quota_prorated)} (prorated: {money(self.quota)} x "
            f"{self.active_days}/{self.period_days} days)"
        )

    @property
    def attainment_sentence(self) -> str:
        if self.attainment is None:
            return f"Credited {exact(self.credited)}; attainment not applicable (quota 0)"
        pct = two_decimals(self.attainment * 100)
        return f"Credited {exact(self.credited)}, attainment {self.attainment} ({pct}% of quota)"

    @property
    def quality_sentence(self) -> str:
        if self.quality is None:
            return "Quality multiplier: none in this plan (x1)"
        formula = self.quality.formula
        return f"Quality multiplier x{exact(self.quality.multiplier)}" + (f" = {formula}" if formula else "")

    @property
    def cap_sentence(self) -> str:
        if self.cap is None:
            return "no cap in this plan"
        if self.cap_adjustment is None:
            return f"cap {money(self.cap)} not reached"
        return f"earned {money(self.earned)} is above the cap {money(self.cap)}"

    @property
    def carry_out_sentence(self) -> str:
        if self.carry_out == 0:
            return "nothing carried to the next period"
        return "negative balance carried to the next period"

    @property
    def next_tier_sentence(self) -> str | None:
        """What reaching the next tier edge takes; None without tiers or without a quota."""
        if not self.has_tiers or self.attainment is None:
            return None
        step = next_tier_step(self.bands, self.quota, self.active_days, self.period_days, self.credited)
        if step is None:
            last = [b.up_to for b in self.bands if b.up_to is not None]
            edge = f" ({percent(last[-1])} of quota)" if last else ""
            paid = "every line of the period is" if self.retroactive else "further credit is"
            return f"Above the last tier edge{edge}: {paid} paid at the top tier multiplier x{exact(self.bands[-1].multiplier)}."
        needed, up_to, now, then = step
        moves = "every line of the period moves" if self.retroactive else "the tier multiplier goes"
        return f"Next tier: {money(needed)} more credit reaches {percent(up_to)} of quota, where {moves} from x{exact(now)} to x{exact(then)}."

    @property
    def credit_note(self) -> str | None:
        """Shown when some credited amount on the statement has more than 2 decimals."""
        texts = [exact(self.credited), *self.commissions["credited"].to_list()]
        if any(len(t.partition(".")[2]) > 2 for t in texts):  # display text of a handful of lines
            return "Credit is exact (a relationship split can give an amount like 123.4567); line amounts are rounded to cents."
        return None

    def summary_rows(self) -> list[tuple[str, str, str]]:
        """(label, amount, note) rows from earned to carry out."""
        claw_note = f"{self.clawback_lines.height} cancelled sale line(s)" if self.clawback_lines.height else "none"
        carry_note = "from the previous period" if self.carry_in != 0 else "nothing carried in"
        return [
            ("Earned", money(self.earned), f"{self.commissions.height} commission line(s)"),
            *([("Spifs", money(self.spifs), f"{self.spif_lines.height} campaign line(s)")] if self.spif_lines is not None else []),
            *([("Outcome bonus", money(self.outcome_bonus), self.outcome_bonus_note)] if self.outcome_bonus_note else []),
            *([("Activity bonus", money(self.activity_bonus), self.activity_bonus_note)] if self.activity_bonus_note else []),
            *([("Overrides", money(self.overrides), self.overrides_sentence)] if self.override_notes else []),
            ("Cap", money(self.cap_adjustment or Decimal("0.00")), self.cap_sentence),
            ("Clawbacks", money(self.clawbacks), claw_note),
            *self._holdback_rows(),
            ("Carry in", money(self.carry_in), carry_note),
            *([("Draw", money(self.draw), self.draw_sentence)] if self.shows_draw else []),
            *([("Restatement", money(self.restatement), self.restatement_note)] if self.restatement_note else []),
            ("Payout", money(self.payout), f"negative balance: {self.negative_balance}"),
            ("Carry out", money(self.carry_out), self.carry_out_sentence),
            *([("Draw balance", money(self.draw_balance), self.draw_balance_sentence)] if self.shows_draw else []),
            *([("Restatement open", money(self.restatement_open), "due but not paid yet: the next run restates it again")] if self.restatement_open else []),
        ]

    @property
    def shows_draw(self) -> bool:
        """Draw rows on the statement: under a plan version with a draw, with a draw line, or
        while a draw balance is owed."""
        return self.draw_amount is not None or bool(self.draw_note) or self.draw_balance != 0

    @property
    def draw_sentence(self) -> str:
        if self.draw_note:
            return self.draw_note
        if self.draw_amount is None:
            return "no minimum pay in this plan version; nothing recovered"
        if self.active_days == 0:
            return "not active in the period: no minimum pay; nothing recovered"
        return f"pay is at or above the minimum pay {money(self.draw_due)}: nothing topped up or recovered"

    @property
    def draw_balance_sentence(self) -> str:
        if self.draw_balance == 0 and self.draw_recoverable is False:
            return "a guarantee: its top-ups are never owed back"
        if self.draw_balance == 0:
            return "nothing owed back"
        return "owed back from later pay above the minimum pay"

    @property
    def overrides_sentence(self) -> str:
        n = len(self.override_notes)
        return f"{n} report{'s' if n != 1 else ''} below: a share of their net credit (not capped)"

    def _holdback_rows(self) -> list[tuple[str, str, str]]:
        """The held back and released rows, only for a rep with such lines in the period."""
        rows = []
        if self.holdback_notes:
            rows.append(("Held back", money(self.holdback), f"{len(self.holdback_notes)} line(s): part of the commission waits for the customer to stay"))
        if self.release_notes:
            rows.append(("Released", money(self.released), f"{len(self.release_notes)} held part(s) whose release day has come"))
        return rows


# --------------------------------------------------------------------------
# building


def line_notes(result: RunResult, period: str, kind: str, text: pl.Expr) -> dict[str, str]:
    """rep_id -> the explanation (`text`) of the rep's line of `kind` in `period`: kinds a rep has
    one line of at most (outcome_bonus, activity_bonus, draw, restatement)."""
    lines = period_lines(result, period).filter(pl.col("kind") == kind)
    if not lines.height:
        return {}
    notes = lines.select("rep_id", text.alias("note"))
    return dict(zip(notes["rep_id"].to_list(), notes["note"].to_list(), strict=True))


def holdback_notes(result: RunResult, period: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """rep_id -> (one sentence per holdback line, one per release line) of the rep in `period`, in line
    order: `sale S1 sold 2026-03-31: 25% of 400.00 held until 2026-09-27: -100.00`."""
    lines = period_lines(result, period).filter(pl.col("kind").is_in(["holdback", "release"]))
    if not lines.height:
        return {}
    text = pl.when(pl.col("kind") == "holdback").then(holdback_text()).otherwise(release_text())
    notes = lines.select("rep_id", "kind", pl.format("{}: {}", text, money_text(pl.col("amount"))).alias("note"))
    out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for (rep_id,), mine in notes.partition_by("rep_id", as_dict=True, maintain_order=True).items():  # a statement's lines
        out[rep_id] = tuple(tuple(mine.filter(pl.col("kind") == k)["note"].to_list()) for k in ("holdback", "release"))  # type: ignore[assignment]
    return out


def override_notes(result: RunResult, period: str) -> dict[str, tuple[str, ...]]:
    """rep_id -> the explanations of the rep's override lines in `period`, by the report's rep_id."""
    lines = period_lines(result, period).filter(pl.col("kind") == "override")
    if not lines.height:
        return {}
    notes = lines.select("rep_id", override_text(getattr(lines.schema["override_net"], "scale", 0) or 0, "override_currency" in lines.columns).alias("note"))
    return {k[0]: tuple(v["note"].to_list()) for k, v in notes.partition_by("rep_id", as_dict=True, maintain_order=True).items()}


def line_tables(result: RunResult, period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(commission lines, clawback lines) of every rep in `period`, as display text, in SPEC order."""
    lines = period_lines(result, period)
    tiers = tier_pieces_text(lines, for_statement=True)  # "2500.00 x0.50 + 300.00 x1.00"
    role = (
        pl.when(pl.col("role") == "relationship")
        .then(pl.format("relationship (contact {}, sold by {})", pl.col("contact_id"), pl.col("seller_id")))
        .otherwise(pl.col("role"))
    )
    credited = column_exact_text("credited", lines)
    if "fx_rate" in lines.columns:  # SPEC 6.3 currency: how a credit converted from the sale's currency was formed
        converted = pl.format(
            "{}; {} {} x {} ({} to {}, {})", role, column_exact_text("sale_credited", lines), "sale_currency",
            column_exact_text("fx_rate", lines), "sale_currency", "currency", pl.col("sold_on").dt.strftime("%Y-%m"),
        )  # fmt: skip
        role = pl.when(pl.col("fx_rate").is_not_null()).then(converted).otherwise(role)
        credited = pl.when(pl.col("fx_rate").is_not_null()).then(
            pl.format("{} ({} {} x {})", credited, column_exact_text("sale_credited", lines), "sale_currency",
                      column_exact_text("fx_rate", lines))
        ).otherwise(credited)
    commission = lines.filter(pl.col("kind") == "commission").select(
        "rep_id",
        "sale_id",
        pl.col("sold_on").cast(pl.String),
        "product",
        role.alias("role"),
        column_exact_text("credited", lines).alias("credited"),
        column_exact_text("rate", lines).alias("rate"),
        tiers.alias("tiers"),
        column_exact_text("quality_multiplier", lines).alias("quality_multiplier"),
        money_text(pl.col("amount")).alias("amount"),
        pl.format(
            "credited {} x rate {} by tier ({}) x quality {} = {}",
            credited, column_exact_text("rate", lines), tiers, column_exact_text("quality_multiplier", lines), money_text(pl.col("amount")),
        ).alias("explanation"),
    )  # fmt: skip
    # with a holdback, a clawback recovers a share of the commission less the part still held (SPEC 6.3 step 6)
    zero = pl.lit(0, dtype=pl.Decimal(38, 2))
    held = pl.col("held").fill_null(zero) if "held" in lines.columns else zero
    base = clawback_base_text() if "held" in lines.columns else money_text(pl.col("original_amount"))
    role, of_paid = pl.col("role"), pl.lit("")
    if "campaign_no" in lines.columns:  # the clawback of a spif line names its campaign
        spif = pl.col("reference").is_not_null()
        role = pl.when(spif).then(pl.format("{} campaign", "reference")).otherwise(role)
        of_paid = pl.when(spif).then(pl.format("the {} campaign's ", "reference")).otherwise(of_paid)
    claw = lines.filter(pl.col("kind") == "clawback").select(
        "rep_id",
        "sale_id",
        "product",
        role.alias("role"),
        pl.col("sold_on").cast(pl.String),
        pl.col("cancelled_on").cast(pl.String),
        pl.col("days").cast(pl.String),
        pl.format("within {} days", pl.col("within_days")).alias("rule"),
        pl.col("recover").cast(pl.String),
        money_text(pl.col("original_amount") - held).alias("original_amount"),
        "original_period",
        money_text(pl.col("amount")).alias("amount"),
        pl.format(
            "cancelled {} days after the sale, within the {}-day window: recover {} of {}{} paid in {} = {}",
            "days", "within_days", "recover", of_paid, base, "original_period", money_text(pl.col("amount")),
        ).alias("explanation"),
    )  # fmt: skip
    return commission, claw


def spif_tables(result: RunResult, period: str) -> pl.DataFrame | None:
    """rep_id + SPIF_COLUMNS + explanation: the spif lines of every rep in `period` as display text,
    in SPEC order (`spring-cards campaign: 25.00 per sale`); None when the period has none."""
    lines = period_lines(result, period).filter(pl.col("kind") == "spif")
    if not lines.height:
        return None
    terms = spif_terms_text(lines.schema["rate"].scale)
    return lines.select(
        "rep_id",
        "sale_id",
        pl.col("sold_on").cast(pl.String),
        "product",
        pl.col("reference").alias("campaign"),
        column_exact_text("credited", lines).alias("credited"),
        terms.alias("terms"),
        money_text(pl.col("amount")).alias("amount"),
        spif_campaign_text(lines.schema["rate"].scale).alias("explanation"),
    )


def check_period_has_data(inputs: Inputs, period: Period) -> None:
    """A statement of a period the data does not reach would show nothing real: refuse it."""
    dated = [
        (inputs.sales.frame, "sold_on"),
        (inputs.sales.frame, "cancelled_on"),
        (inputs.feedback.frame, "responded_on"),
        (inputs.contacts.frame, "contacted_on"),
    ]
    count = sum(f.filter(pl.col(c).is_between(period.start, period.end)).height for f, c in dated if f.height)
    if count:
        return
    last = [f[c].max() for f, c in dated if f.height and f[c].null_count() < f.height]
    latest = f"; the latest date in the data is {max(last)}" if last else "; the data has no dated rows"
    raise UsageError(
        "--period",
        "no-data-in-period",
        f"no data in {period} ({period.start} to {period.end}): no sale, cancellation, response or contact is dated in it{latest}",
    )


def _rep_row(inputs: Inputs, rep_id: str) -> dict:
    found = inputs.reps.frame.filter(pl.col("rep_id") == rep_id)
    if not found.height:
        raise UsageError("--rep", "unknown-rep", f"unknown rep '{rep_id}': no such rep_id in {inputs.reps.path or 'reps.csv'}")
    return found.row(0, named=True)


def check_rep(inputs: Inputs, rep_id: str, plan_kind: str | None, period: Period) -> None:
    """The rep exists and is paid by periods of this kind."""
    rep = _rep_row(inputs, rep_id)
    if plan_kind is not None and plan_kind != period.kind:
        other = period_containing(period.start, plan_kind)
        raise UsageError(
            "--period",
            "other-period-kind",
            f"rep {rep_id} is on plan {rep['plan']}, paid by {plan_kind}; {period} is a {period.kind}: "
            f"use --period {other.label}",
        )


def _quality(row: dict) -> QualityDetail | None:
    if not row["has_quality"] or row["quality_multiplier"] is None:
        return None
    metrics = []
    for m in ("csat", "nps", "ces"):
        if row[f"{m}_multiplier"] is None:  # not a metric of this plan version
            continue
        n = row[f"{m}_n"] or 0
        metrics.append(MetricDetail(m, n, row[f"{m}_value_num"] or 0, row[f"{m}_multiplier"], n >= row["q_min"]))
    end = row["p_end"]
    return QualityDetail(
        multiplier=row["quality_multiplier"],
        combine=row["q_combine"],
        window_days=row["q_window"],
        window_start=end - timedelta(days=row["q_window"] - 1),
        window_end=end,
        min_responses=row["q_min"],
        metrics=tuple(metrics),
    )


def year_to_date(result: RunResult) -> pl.DataFrame:
    """rep_id + YEAR_TO_DATE_COLUMNS: every payouts row (a present rep-period) from January of the
    requested period's year (or the first computed period) to the requested period, by rep and period."""
    period = result.period
    since = date(period.start.year, 1, 1)
    return (
        result.grid.filter(pl.col("present") & pl.col("p_start").is_between(since, period.start))
        .sort("rep_id", "p_start")
        .select("rep_id", *YEAR_TO_DATE_COLUMNS)
    )


def _bands(result: RunResult) -> dict[int, tuple[Band, ...]]:
    """Each plan version's tier bands (`pv` -> bands), from the run's small tier table."""
    tiers = result.tables.tiers.sort("pv", "band")
    out: dict[int, list[Band]] = {}
    for t in tiers.select("pv", "upper", "multiplier").to_dicts():  # a handful of plan bands
        out.setdefault(t["pv"], []).append(Band(t["upper"], t["multiplier"]))
    return {pv: tuple(bs) for pv, bs in out.items()}


def _with_restatement(s: Statement, row: dict, note: str, restated: tuple) -> Statement:
    return replace(s, restatement=row["restatement"], restatement_open=row["restatement_open"], restatement_note=note, restated=restated)


def _statement(
    row: dict,
    commissions: pl.DataFrame,
    claws: pl.DataFrame,
    currency: str,
    bands: dict[int, tuple[Band, ...]] | None = None,
    ytd: pl.DataFrame | None = None,
    bonus_note: str = "",
    held_notes: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
    draw_note: str = "",
    activity_note: str = "",
    spifs: pl.DataFrame | None = None,
    overrides: tuple[str, ...] = (),
) -> Statement:
    has_tiers = bool(row.get("has_tiers"))
    return Statement(
        rep_id=row["rep_id"],
        name=row["name"],
        team=row["team"],
        plan=row["plan"],
        version=row["version"],
        effective_from=row["effective_from"],
        currency=currency,
        period=row["period"],
        period_start=row["p_start"],
        period_end=row["p_end"],
        period_days=row["p_days"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        active_days=row["active_days"],
        quota=row["quota"],
        quota_prorated=row["quota_shown"],
        credited=row["credited"],
        attainment=row["attainment"],
        quality=_quality(row),
        commissions=commissions.drop("rep_id"),
        clawback_lines=claws.drop("rep_id"),
        earned=row["earned"],
        cap=row["cap"],
        cap_adjustment=row["cap_adjustment"],
        clawbacks=row["clawbacks"],
        carry_in=row["carry_in"],
        payout=row["payout"],
        carry_out=row["carry_out"],
        negative_balance=row["negative_balance"],
        outcome_bonus=row["outcome_bonus"],
        outcome_bonus_note=bonus_note,
        draw=row["draw"],
        draw_note=draw_note,
        draw_amount=row["draw_amount"],
        draw_recoverable=row["draw_recoverable"],
        draw_due=row["draw_due"],
        draw_balance=row["draw_balance"],
        holdback=row["holdback"],
        released=row["released"],
        holdback_notes=held_notes[0],
        release_notes=held_notes[1],
        activity_bonus=row["activity_bonus"],
        activity_bonus_note=activity_note,
        spifs=row["spifs"],
        spif_lines=None if spifs is None or not spifs.height else spifs.drop("rep_id"),
        overrides=row["overrides"],
        override_notes=overrides,
        has_tiers=has_tiers,
        retroactive=bool(row.get("retro")),
        bands=(bands or {}).get(row.get("pv"), ()) if has_tiers else (),
        year_to_date=None if ytd is None else ytd.select(YEAR_TO_DATE_COLUMNS),
    )


def statement_for(result: RunResult, inputs: Inputs, rep_id: str, currency: str = "") -> Statement:
    """The statement of `rep_id` for the run's requested period, or a UsageError saying why not."""
    rep = _rep_row(inputs, rep_id)
    period = result.period
    rows = result.grid.filter((pl.col("rep_id") == rep_id) & (pl.col("period") == period.label))
    if not rows.height:
        raise UsageError(
            "--period", "other-period-kind", f"rep {rep_id} is on plan {rep['plan']}, which is not paid by {period.kind}"
        )
    row = rows.row(0, named=True)
    if not row["present"]:
        end = f"to {rep['end_date']}" if rep["end_date"] else "with no end date"
        if rep["end_date"] is not None and rep["end_date"] < period.start:
            why = f"left on {rep['end_date']}"
        elif rep["start_date"] > period.end:
            why = f"starts on {rep['start_date']}"
        else:
            why = "was not active"
        raise UsageError(
            "--period",
            "rep-not-in-period",
            f"rep {rep_id} ({rep['name']}) is not in {period} ({period.start} to {period.end}): {why} "
            f"(employed from {rep['start_date']} {end}) and has no line in that period",
        )
    commissions, claws = line_tables(result, period.label)
    mine = pl.col("rep_id") == rep_id
    ytd = year_to_date(result).filter(mine)
    note = line_notes(result, period.label, "outcome_bonus", outcome_bonus_text()).get(rep_id, "")
    draw_note = line_notes(result, period.label, "draw", draw_text()).get(rep_id, "")
    held = holdback_notes(result, period.label).get(rep_id, ((), ()))
    activity = line_notes(result, period.label, "activity_bonus", activity_bonus_text()).get(rep_id, "")
    spifs = spif_tables(result, period.label)
    spifs = None if spifs is None else spifs.filter(mine)
    overrides = override_notes(result, period.label).get(rep_id, ())
    s = _statement(
        row, commissions.filter(mine), claws.filter(mine), row.get("currency") or currency, _bands(result), ytd, note, held,
        draw_note=draw_note, activity_note=activity, spifs=spifs, overrides=overrides,
    )  # fmt: skip
    restated = restated_periods(result, [rep_id]).get(rep_id, ())
    return _with_restatement(s, row, line_notes(result, period.label, "restatement", restatement_text()).get(rep_id, ""), restated)


def period_statements(result: RunResult, currency: str = "") -> list[Statement]:
    """The statement of every rep present in the requested period, by rep_id."""
    label = result.period.label
    rows = result.grid.filter((pl.col("period") == label) & pl.col("present")).sort("rep_id")
    commissions, claws = line_tables(result, label)
    by_rep = {k[0]: v for k, v in commissions.partition_by("rep_id", as_dict=True, maintain_order=True).items()}
    claw_by_rep = {k[0]: v for k, v in claws.partition_by("rep_id", as_dict=True, maintain_order=True).items()}
    ytd = year_to_date(result)
    ytd_by_rep = {k[0]: v for k, v in ytd.partition_by("rep_id", as_dict=True, maintain_order=True).items()}
    bands = _bands(result)
    notes = line_notes(result, label, "outcome_bonus", outcome_bonus_text())
    draws = line_notes(result, label, "draw", draw_text())
    held = holdback_notes(result, label)
    activity = line_notes(result, label, "activity_bonus", activity_bonus_text())
    spifs = spif_tables(result, label)
    spif_by_rep = {} if spifs is None else {k[0]: v for k, v in spifs.partition_by("rep_id", as_dict=True, maintain_order=True).items()}
    overrides = override_notes(result, label)
    restatements = line_notes(result, label, "restatement", restatement_text())
    restated = restated_periods(result)
    out = []
    for row in rows.to_dicts():  # one statement per rep: a handful of header values each
        rep = row["rep_id"]
        out.append(
            _with_restatement(_statement(
                row, by_rep.get(rep, commissions.clear()), claw_by_rep.get(rep, claws.clear()), row.get("currency") or currency, bands,
                ytd_by_rep.get(rep, ytd.clear()), notes.get(rep, ""), held.get(rep, ((), ())),
                draw_note=draws.get(rep, ""), activity_note=activity.get(rep, ""), spifs=spif_by_rep.get(rep),
                overrides=overrides.get(rep, ()),
            ), row, restatements.get(rep, ""), restated.get(rep, ()))
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------
# JSON


def statement_dict(s: Statement) -> dict:
    """The statement as plain JSON values: money as strings with 2 decimals, exact values as plain text."""
    quality = None
    if s.quality is not None:
        q = s.quality
        quality = {
            "multiplier": exact(q.multiplier),
            "combine": q.combine,
            "window_days": q.window_days,
            "window_start": q.window_start.isoformat(),
            "window_end": q.window_end.isoformat(),
            "min_responses": q.min_responses,
            "metrics": [
                {
                    "metric": m.metric,
                    "responses": m.responses,
                    "value_num": m.value_num,
                    "value": m.value_text,
                    "counted": m.counted,
                    "multiplier": exact(m.multiplier),
                }
                for m in q.metrics
            ],
        }
    return {
        "rep_id": s.rep_id,
        "name": s.name,
        "team": s.team,
        "plan": s.plan,
        "plan_version": s.version,
        "effective_from": s.effective_from.isoformat(),
        "currency": s.currency,
        "period": s.period,
        "period_start": s.period_start.isoformat(),
        "period_end": s.period_end.isoformat(),
        "start_date": s.start_date.isoformat(),
        "end_date": s.end_date.isoformat() if s.end_date else None,
        "active_days": s.active_days,
        "period_days": s.period_days,
        "quota": money(s.quota_prorated),
        "quota_full": money(s.quota),
        "credited": exact(s.credited),
        "attainment": None if s.attainment is None else str(s.attainment),
        "quality_multiplier": exact(s.quality.multiplier) if s.quality else None,
        "quality": quality,
        "lines": s.commissions.to_dicts(),
        "earned": money(s.earned),
        "cap": money(s.cap) if s.cap is not None else None,
        "cap_adjustment": money(s.cap_adjustment or Decimal(0)),
        "clawback_lines": s.clawback_lines.to_dicts(),
        "clawbacks": money(s.clawbacks),
        "carry_in": money(s.carry_in),
        "payout": money(s.payout),
        "carry_out": money(s.carry_out),
        "negative_balance": s.negative_balance,
        "outcome_bonus": money(s.outcome_bonus),
        "outcome_bonus_explanation": s.outcome_bonus_note or None,
        "draw": money(s.draw),
        "draw_explanation": s.draw_note or None,
        "draw_balance": money(s.draw_balance),
        "holdback": money(s.holdback),
        "released": money(s.released),
        "holdback_explanations": list(s.holdback_notes),
        "release_explanations": list(s.release_notes),
        "activity_bonus": money(s.activity_bonus),
        "activity_bonus_explanation": s.activity_bonus_note or None,
        "spifs": money(s.spifs),
        "spif_lines": [] if s.spif_lines is None else s.spif_lines.to_dicts(),
        "overrides": money(s.overrides),
        "override_explanations": list(s.override_notes),
        "restatement": money(s.restatement),
        "restatement_open": money(s.restatement_open),
        "restatement_explanation": s.restatement_note or None,
        "restated_periods": [r.as_dict() for r in s.restated],
    }
