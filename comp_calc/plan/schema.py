"""The plan schema (SPEC section 2) as a small declarative walker.

A *kind* is a function `(checker, value, line, path) -> result`; it reports
problems on the checker and returns `INVALID` for a value it cannot accept.
`record(cls, fields)` checks a mapping against named fields (unknown and
missing keys, defaults) and builds the model dataclass; `listing(item, *rules)`
checks a non-empty list item by item, then rules across items. All problems of
a plan are collected; nothing stops at the first one.

Limits beyond SPEC (so the engine stays exact within 38 digits): every plan
number has at most 6 decimal places (`cap` at most 2) and fewer than 13 digits
before the point; day counts are at most 36600; other integers at most 10**9.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from comp_calc.data.contract import CHANNELS
from comp_calc.errors import Diagnostic
from comp_calc.periods import MONTH, QUARTER, is_period_start
from comp_calc.plan.model import (
    Activity, Band, BonusBand, ClawbackRule, Draw, Holdback, Metric, OutcomeBonus, Outbound, Plan, Quality, RateRule, Tier,
)  # fmt: skip
from comp_calc.plan.yaml_positions import FLOAT_RE, INT_RE, INVALID, YList, YMap, join

MAX_PLACES = 6
MAX_INT_DIGITS = 12
MAX_DAYS = 36600
MAX_INT = 10**9
ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
METRIC_RANGES = {"csat": (Decimal(0), Decimal(1)), "nps": (Decimal(-100), Decimal(100)), "ces": (Decimal(1), Decimal(7))}


class Checker:
    def __init__(self, file: str):
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def err(self, line: int | None, path: str, code: str, message: str) -> Any:
        self.diagnostics.append(Diagnostic(self.file, line, path or None, code, message))
        return INVALID


Kind = Callable[[Checker, Any, int, str], Any]


def describe(value) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    return f"the text '{value}'"


# ---- scalar kinds ---------------------------------------------------------------------------


def text(ck: Checker, v, line: int, path: str):
    if isinstance(v, str):
        return v if v.strip() else ck.err(line, path, "empty-value", "must not be empty")
    quotable = isinstance(v, int | Decimal | date) and not isinstance(v, bool)
    hint = f"; write it in quotes: \"{v}\"" if quotable else ""
    return ck.err(line, path, "wrong-type", f"expected text, got {describe(v)}{hint}")


def keyword(*choices: str) -> Kind:
    def kind(ck: Checker, v, line: int, path: str):
        if isinstance(v, str) and v in choices:
            return v
        listed = " | ".join(choices)
        if isinstance(v, str) and v.strip().lower() in choices:
            return ck.err(line, path, "bad-keyword", f"keywords are exact and lower-case: write '{v.strip().lower()}'")
        return ck.err(line, path, "bad-keyword", f"expected one of {listed}, got {describe(v)}")

    return kind


def boolean(ck: Checker, v, line: int, path: str):
    return v if isinstance(v, bool) else ck.err(line, path, "wrong-type", f"expected true or false, got {describe(v)}")


def day(ck: Checker, v, line: int, path: str):
    if isinstance(v, date):
        return v
    if isinstance(v, str) and ISO_DATE_RE.match(v):
        try:
            return date.fromisoformat(v)
        except ValueError:
            return ck.err(line, path, "bad-date", f"'{v}' is not a valid date")
    return ck.err(line, path, "wrong-type", f"expected a date YYYY-MM-DD, got {describe(v)}")


def integer(lo: int, hi: int = MAX_INT) -> Kind:
    def kind(ck: Checker, v, line: int, path: str):
        if isinstance(v, bool) or not isinstance(v, int):
            hint = " (remove the quotes)" if isinstance(v, str) and INT_RE.match(v) else ""
            return ck.err(line, path, "wrong-type", f"expected a whole number, got {describe(v)}{hint}")
        if not lo <= v <= hi:
            return ck.err(line, path, "out-of-range", f"must be between {lo} and {hi}, got {v}")
        return v

    return kind


def _places(d: Decimal) -> int:
    _, digits, exponent = d.as_tuple()
    written = "".join(map(str, digits))
    if not written.strip("0"):
        return 0
    return max(0, -(exponent + len(written) - len(written.rstrip("0"))))


def number(lo=None, hi=None, *, lo_open=False, hi_open=False, places=MAX_PLACES) -> Kind:
    lo, hi = (None if b is None else Decimal(b) for b in (lo, hi))
    if lo is not None and hi is not None:
        wanted = f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    elif lo is not None:
        wanted = f"{'>' if lo_open else '>='} {lo}"
    else:
        wanted = ""

    def kind(ck: Checker, v, line: int, path: str):
        if isinstance(v, bool) or not isinstance(v, int | Decimal):
            hint = " (remove the quotes)" if isinstance(v, str) and FLOAT_RE.match(v) else ""
            return ck.err(line, path, "wrong-type", f"expected a number, got {describe(v)}{hint}")
        d = Decimal(v)
        if d != 0 and d.adjusted() >= MAX_INT_DIGITS:
            too_large = f"{v} is too large: at most {MAX_INT_DIGITS} digits before the point"
            return ck.err(line, path, "out-of-range", too_large)
        n = _places(d)
        if n > places:
            return ck.err(line, path, "too-precise", f"{v} has {n} decimal places; at most {places} are allowed")
        below = lo is not None and (d < lo or (lo_open and d == lo))
        above = hi is not None and (d > hi or (hi_open and d == hi))
        if below or above:
            return ck.err(line, path, "out-of-range", f"must be {wanted}, got {v}")
        _, _, exponent = d.as_tuple()
        return d.quantize(Decimal(1).scaleb(-n)) if exponent > 0 or -exponent > places else d

    return kind


def products(ck: Checker, v, line: int, path: str):
    if isinstance(v, YList):
        return listing(text)(ck, v, line, path)
    if isinstance(v, YMap):
        return ck.err(line, path, "wrong-type", "expected a product name or a list of product names, got a mapping")
    name = text(ck, v, line, path)
    return INVALID if name is INVALID else (name,)


# ---- structure --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    kind: Kind
    required: bool = True
    default: Any = None


def req(kind: Kind) -> Field:
    return Field(kind)


def opt(kind: Kind, default=None) -> Field:
    return Field(kind, required=False, default=default)


def mapping(ck: Checker, v, line: int, path: str, fields: dict[str, Field]) -> dict | Any:
    if not isinstance(v, YMap):
        keys = ", ".join(fields)
        return ck.err(line, path, "wrong-type", f"expected a mapping with keys {keys}; got {describe(v)}")
    out: dict[str, Any] = {}
    for key in v:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed here: {', '.join(fields)}"
            ck.err(v.key_lines[key], join(path, str(key)), "unknown-key", f"unknown key '{key}'{hint}")
    for name, f in fields.items():
        if name in v:
            raw = v[name]
            out[name] = INVALID if raw is INVALID else f.kind(ck, raw, v.value_lines[name], join(path, name))
        elif f.required:
            out[name] = ck.err(v.line, join(path, name), "missing-key", f"missing required key '{name}'")
        else:
            out[name] = f.default
    return out


def record(cls, fields: dict[str, Field], *, rename: dict[str, str] | None = None, check=None, keep_line: bool = False) -> Kind:
    """A mapping checked against `fields` and built into `cls` (keys renamed by `rename`; with
    `keep_line`, its line in the file as `line`, for messages that point at the entry later)."""

    def kind(ck: Checker, v, line: int, path: str):
        values = mapping(ck, v, line, path, fields)
        if values is INVALID:
            return INVALID
        if check:
            check(ck, values, v, path)
        built = {(rename or {}).get(k, k): x for k, x in values.items()}
        return cls(**built, line=line) if keep_line else cls(**built)

    return kind


def listing(item: Kind, *rules) -> Kind:
    """A non-empty list of `item`, then each rule `(checker, items, raw_list, path)` across items."""

    def kind(ck: Checker, v, line: int, path: str):
        if not isinstance(v, YList):
            return ck.err(line, path, "wrong-type", f"expected a list, got {describe(v)}")
        if not v:
            return ck.err(line, path, "empty-list", "must list at least one entry (leave the key out for none)")
        items = tuple(
            INVALID if x is INVALID else item(ck, x, v.lines[i], join(path, i)) for i, x in enumerate(v)
        )
        for rule in rules:
            rule(ck, items, v, path)
        return items

    return kind


def _value(item, attr: str):
    return INVALID if item is INVALID else getattr(item, attr)


def open_last(key: str, what: str, code: str, attr: str | None = None):
    """Exactly one entry without `key` (the open-ended / catch-all one), and it is the last.
    `attr` is the model field holding `key` when the two names differ."""
    attr = attr or key

    def rule(ck: Checker, items, raw: YList, path: str):
        misplaced = [i for i, item in enumerate(items[:-1]) if _value(item, attr) is None]
        for i in misplaced:
            ck.err(raw.lines[i], join(path, i), code, f"only the last {what} may leave out '{key}'")
        last = _value(items[-1], attr)
        if not misplaced and last is not INVALID and last is not None:
            ck.err(raw.line, path, code, f"the last {what} must leave out '{key}' so that it covers everything else")

    return rule


def increasing(key: str):
    """Each entry's `key` (where given) greater than the previous one."""

    def rule(ck: Checker, items, raw: YList, path: str):
        prev = None
        for i, item in enumerate(items):
            value = _value(item, key)
            if value is INVALID or value is None:
                continue
            if prev is not None and value <= prev:
                ck.err(raw[i].value_lines[key], join(join(path, i), key), "not-increasing",
                       f"{key} {value} must be greater than the previous {key} {prev}")
            prev = value

    return rule


def unique(key: str | None = None):
    """No entry (or entry's `key`) listed twice."""

    def rule(ck: Checker, items, raw: YList, path: str):
        seen = set()
        for i, item in enumerate(items):
            value = item if key is None else _value(item, key)
            if value is INVALID:
                continue
            if value in seen:
                line = raw.lines[i] if key is None else raw[i].value_lines[key]
                where = join(path, i) if key is None else join(join(path, i), key)
                ck.err(line, where, "duplicate-entry", f"'{value}' is listed more than once")
            seen.add(value)

    return rule


def _metric_range(ck: Checker, values: dict, raw: YMap, path: str) -> None:
    bands, metric = values["bands"], values["metric"]
    if bands is INVALID or metric not in METRIC_RANGES:
        return
    lo, hi = METRIC_RANGES[metric]
    for i, band in enumerate(bands):
        if band is not INVALID and band.below is not INVALID and band.below is not None:
            if not lo <= band.below <= hi:
                ck.err(raw["bands"][i].value_lines["below"], f"{path}.bands[{i}].below", "out-of-range",
                       f"{metric} values lie in [{lo}, {hi}]: 'below' must be in that range, got {band.below}")


def _effective_from(ck: Checker, values: dict, raw: YMap, path: str) -> None:
    start, kind = values["effective_from"], values["period"]
    if start is not INVALID and kind is not INVALID and not is_period_start(start, kind):
        ck.err(raw.value_lines["effective_from"], "effective_from", "not-period-start",
               f"{start.isoformat()} is not the first day of a {kind}")


def _tier_mode(ck: Checker, values: dict, raw: YMap, path: str) -> None:
    """`tier_mode`, even `marginal`, says how tiers apply: without `attainment_tiers` it is a mistake."""
    if "tier_mode" in raw and "attainment_tiers" not in raw:
        ck.err(raw.key_lines["tier_mode"], "tier_mode", "needs-tiers",
               "tier_mode says how attainment_tiers apply, but this plan has no attainment_tiers")


def _plan_checks(ck: Checker, values: dict, raw: YMap, path: str) -> None:
    _effective_from(ck, values, raw, path)
    _tier_mode(ck, values, raw, path)


# ---- the plan ---------------------------------------------------------------------------------

RATE = {"product": opt(products), "rate": req(number(0, 1))}
TIER = {"up_to": opt(number(0, lo_open=True)), "multiplier": req(number(0))}
BAND = {"below": opt(number()), "multiplier": req(number(0))}
METRIC = {
    "metric": req(keyword(*METRIC_RANGES)),
    "bands": req(listing(record(Band, BAND), open_last("below", "band", "open-ended"), increasing("below"))),
}
QUALITY = {
    "window_days": req(integer(1, MAX_DAYS)),
    "min_responses": opt(integer(1), 1),
    "combine": opt(keyword("multiply", "min"), "multiply"),
    "metrics": req(listing(record(Metric, METRIC, check=_metric_range), unique("metric"))),
}
BONUS_BAND = {"below": opt(number()), "amount": req(number(0, places=2))}
OUTCOME_BONUS = {
    "metric": req(keyword(*METRIC_RANGES)),
    "window_days": req(integer(1, MAX_DAYS)),
    "min_responses": opt(integer(1), 1),
    "bands": req(listing(record(BonusBand, BONUS_BAND), open_last("below", "band", "open-ended"), increasing("below"))),
}
HOLDBACK = {"share": req(number(0, 1, lo_open=True, hi_open=True)), "release_after_days": req(integer(1, MAX_DAYS))}
OUTBOUND = {
    "channels": req(listing(keyword(*CHANNELS), unique())),
    "connected_only": opt(boolean, True),
    "window_days": req(integer(0, MAX_DAYS)),
    "share": req(number(0, 1, lo_open=True, hi_open=True)),
}
DRAW = {"amount": req(number(0, places=2)), "recoverable": opt(boolean, True)}
ACTIVITY = {
    "channels": req(listing(keyword(*CHANNELS), unique())),
    "connected_only": opt(boolean, True),
    "target": req(integer(1)),
    "bonus": req(number(0, places=2)),
    "distinct_customers": opt(boolean, False),
    "min_customer_value": opt(number(0, places=2)),
}
CLAWBACK = {"within_days": req(integer(0, MAX_DAYS)), "recover": req(number(0, 1))}
PLAN = {
    "plan": req(text),
    "version": req(integer(1)),
    "effective_from": req(day),
    "currency": req(text),
    "period": req(keyword(MONTH, QUARTER)),
    "rounding": req(keyword("half_up", "half_even")),
    "rates": req(listing(record(RateRule, RATE, rename={"product": "products"}, keep_line=True),
                         open_last("product", "rule", "catch-all", attr="products"))),
    "attainment_tiers": opt(listing(record(Tier, TIER), open_last("up_to", "tier", "open-ended"),
                                    increasing("up_to"))),
    "tier_mode": opt(keyword("marginal", "retroactive"), "marginal"),
    "quality": opt(record(Quality, QUALITY)),
    "outcome_bonus": opt(record(OutcomeBonus, OUTCOME_BONUS, check=_metric_range)),
    "holdback": opt(record(Holdback, HOLDBACK)),
    "outbound_credit": opt(record(Outbound, OUTBOUND)),
    "activity": opt(record(Activity, ACTIVITY)),
    "clawback": opt(listing(record(ClawbackRule, CLAWBACK), increasing("within_days"))),
    "cap": opt(number(0, places=2)),
    "negative_balance": opt(keyword("carry_forward", "pay"), "carry_forward"),
    "draw": opt(record(Draw, DRAW)),
}


def build_plan(document, source: str, sha256: str) -> tuple[Plan | None, list[Diagnostic]]:
    """Check one read YAML document against the plan schema; the Plan only if nothing is wrong."""
    ck = Checker(source)
    if not isinstance(document, YMap):
        what = f"a plan file must be a mapping of keys (plan, version, ...); got {describe(document)}"
        return None, [Diagnostic(source, 1, None, "not-a-mapping", what)]
    plan = record(Plan, PLAN, check=_plan_checks)(ck, document, document.line, "")
    if ck.diagnostics:
        return None, ck.diagnostics
    return replace(plan, source=source, sha256=sha256), []
