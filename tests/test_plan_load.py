"""Plan loading and validation (SPEC section 2): every rule gives an exact diagnostic."""

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FUZZ_SCALE
from comp_calc.plan.load import check_plan_set, load_plan_file, load_plans, parse_plan
from comp_calc.plan.model import Band, ClawbackRule, Metric, Outbound, Quality, RateRule, Tier

# Lines 1-8; sections appended by `plus` start on line 9.
BASE = """\
plan: inbound
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.02
"""

SPEC_EXAMPLE = """\
plan: inbound-2026          # plan id; reps.csv `plan` refers to it
version: 2                  # integer; (plan, version) unique
effective_from: 2026-07-01  # a period start; this version governs periods from here on
currency: EUR
period: month               # month | quarter
rounding: half_up           # half_up | half_even: how line amounts round to cents

rates:                      # base rate on credited amount; first matching rule wins
  - product: mortgage
    rate: 0.004
  - product: [credit_card, overdraft]
    rate: 0.03
  - rate: 0.02              # a rule without `product` matches everything (required, last)

attainment_tiers:           # optional: marginal multipliers on the rate, by running attainment
  - up_to: 0.5              # attainment as a fraction of quota
    multiplier: 0.5
  - up_to: 1.0
    multiplier: 1.0
  - multiplier: 1.5         # last band: no up_to

quality:                    # optional: customer-outcome multiplier for the period
  window_days: 90
  min_responses: 5
  combine: multiply         # multiply | min
  metrics:
    - metric: csat          # share of csat responses with score >= 4, in [0, 1]
      bands:
        - below: 0.70
          multiplier: 0.80
        - below: 0.85
          multiplier: 1.00
        - multiplier: 1.10  # last band: no `below`
    - metric: nps           # 100 * (promoters(9-10) - detractors(0-6)) / responses, in [-100, 100]
      bands:
        - below: 0
          multiplier: 0.90
        - multiplier: 1.00

outbound_credit:            # optional: relationship credit split
  channels: [voice, visit]
  connected_only: true
  window_days: 90
  share: 0.30               # in (0, 1)

clawback:                   # optional: recover commission of cancelled sales
  - within_days: 30
    recover: 1.0
  - within_days: 90
    recover: 0.5

cap: 20000                  # optional: most a rep may earn in one period, before clawbacks
negative_balance: carry_forward   # carry_forward | pay
"""


def with_(old: str, new: str, text: str = BASE) -> str:
    assert old in text
    return text.replace(old, new, 1)


def plus(extra: str) -> str:
    return BASE + extra


def problems(text, source="p.yaml"):
    """(line, column, code) of every diagnostic; the plan must be refused and every file named."""
    plan, diagnostics = parse_plan(text, source)
    assert plan is None
    assert diagnostics and all(d.file == source for d in diagnostics)
    return [(d.line, d.column, d.code) for d in diagnostics]


def ok(text):
    plan, diagnostics = parse_plan(text, "p.yaml")
    assert diagnostics == []
    return plan


def message(text) -> str:
    (d,) = parse_plan(text, "p.yaml")[1]
    return d.message


# ---- valid plans --------------------------------------------------------------------------------


def test_spec_example_loads_exactly():
    plan = ok(SPEC_EXAMPLE)
    assert (plan.plan, plan.version, plan.effective_from) == ("inbound-2026", 2, date(2026, 7, 1))
    assert (plan.currency, plan.period, plan.rounding) == ("EUR", "month", "half_up")
    assert plan.rates == (
        RateRule(("mortgage",), Decimal("0.004")),
        RateRule(("credit_card", "overdraft"), Decimal("0.03")),
        RateRule(None, Decimal("0.02")),
    )
    assert str(plan.rates[0].rate) == "0.004"
    assert plan.attainment_tiers == (
        Tier(Decimal("0.5"), Decimal("0.5")), Tier(Decimal("1.0"), Decimal("1.0")), Tier(None, Decimal("1.5")),
    )
    assert plan.quality == Quality(90, 5, "multiply", (
        Metric("csat", (Band(Decimal("0.7"), Decimal("0.8")), Band(Decimal("0.85"), Decimal(1)),
                        Band(None, Decimal("1.1")))),
        Metric("nps", (Band(Decimal(0), Decimal("0.9")), Band(None, Decimal(1)))),
    ))
    assert plan.outbound_credit == Outbound(("voice", "visit"), True, 90, Decimal("0.3"))
    assert plan.clawback == (ClawbackRule(30, Decimal(1)), ClawbackRule(90, Decimal("0.5")))
    assert plan.cap == Decimal(20000) and plan.negative_balance == "carry_forward"


def test_minimal_plan_and_defaults():
    plan = ok(plus("quality:\n  window_days: 30\n  metrics:\n    - metric: nps\n      bands:\n"
                   "        - multiplier: 1\n"
                   "outbound_credit:\n  channels: [sms]\n  window_days: 0\n  share: 0.5\n"))
    assert plan.attainment_tiers is None and plan.clawback is None and plan.cap is None
    assert plan.negative_balance == "carry_forward"
    assert (plan.quality.min_responses, plan.quality.combine) == (1, "multiply")
    assert plan.outbound_credit.connected_only is True


def test_numbers_are_exact_decimals_never_floats():
    plan = ok(with_("rate: 0.02", "rate: 0.1") + "cap: 20000.50\n")
    assert plan.rates[0].rate == Decimal("0.1") and type(plan.rates[0].rate) is Decimal
    assert plan.cap == Decimal("20000.50")
    assert ok(with_("rate: 0.02", "rate: 1e-3")).rates[0].rate == Decimal("0.001")
    assert ok(with_("rate: 0.02", "rate: 1")).rates[0].rate == Decimal(1)
    assert ok(plus("cap: 2e4\n")).cap == Decimal(20000)
    # trailing zeros do not count as decimal places
    assert ok(with_("rate: 0.02", "rate: 0.1000000000")).rates[0].rate == Decimal("0.1")


def test_source_and_sha256():
    data = BASE.encode()
    plan, _ = parse_plan(data, "plans/a.yaml@HEAD~1")
    assert plan.source == "plans/a.yaml@HEAD~1"
    assert plan.sha256 == hashlib.sha256(data).hexdigest()
    assert parse_plan(BASE, "x")[0].sha256 == plan.sha256  # text is hashed as its UTF-8 bytes


def test_quoted_date_string_and_explicit_str_tag():
    plan = ok(with_("effective_from: 2026-01-01", "effective_from: '2026-04-01'")
              .replace("plan: inbound", "plan: !!str 2026"))
    assert plan.effective_from == date(2026, 4, 1) and plan.plan == "2026"


def test_quarter_plan_on_a_quarter_start():
    assert ok(with_("effective_from: 2026-01-01", "effective_from: 2026-04-01")
              .replace("period: month", "period: quarter")).period == "quarter"


def test_yes_no_stay_text():
    plan = ok(with_("  - rate: 0.02", "  - product: no\n    rate: 0.01\n  - rate: 0.02"))
    assert plan.rates[0].products == ("no",)


# ---- one rule, one exact diagnostic ----------------------------------------------------------------

CASES = {
    # reading
    "python tag": (with_("plan: inbound", "plan: !!python/object/apply:os.system [ls]"), [(1, "plan", "yaml-tag")]),
    "custom tag": (with_("rate: 0.02", "rate: !money 0.02"), [(8, "rates[0].rate", "yaml-tag")]),
    "binary tag": (plus("cap: !!binary AAAA\n"), [(9, "cap", "yaml-tag")]),
    "unreadable int tag": (with_("version: 1", "version: !!int 0x1"), [(2, "version", "yaml-tag")]),
    "duplicate key": (plus("currency: USD\n"), [(9, "currency", "duplicate-key")]),
    "bad date": (with_("2026-01-01", "2026-02-30"), [(3, "effective_from", "bad-date")]),
    "top-level list": ("- plan: a\n- plan: b\n", [(1, None, "not-a-mapping")]),
    "top-level scalar": ("just text\n", [(1, None, "not-a-mapping")]),
    "top-level list after comments": ("# plans\n\n- a\n", [(1, None, "not-a-mapping")]),
    # keys
    "unknown top key": (plus("bonus: 5\n"), [(9, "bonus", "unknown-key")]),
    "unknown rate key": (with_("  - rate: 0.02", "  - rate: 0.02\n    products: [a]"),
                         [(9, "rates[0].products", "unknown-key")]),
    "numeric key": (plus("1: x\n"), [(9, "1", "unknown-key")]),
    "list as key": (plus("? [a]\n: 1\n"), [(9, None, "unknown-key")]),
    "unknown band key": (
        plus("quality:\n  window_days: 30\n  metrics:\n    - metric: csat\n      bands:\n"
             "        - multiplier: 1\n          above: 0.5\n"),
        [(15, "quality.metrics[0].bands[0].above", "unknown-key")]),
    "unknown outbound key": (plus("outbound_credit:\n  channels: [sms]\n  window_days: 3\n  share: 0.5\n  days: 1\n"),
                             [(13, "outbound_credit.days", "unknown-key")]),
    "unknown clawback key": (plus("clawback:\n  - within_days: 3\n    recover: 1\n    note: x\n"),
                             [(12, "clawback[0].note", "unknown-key")]),
    "merge key is just unknown": (plus("<<: {cap: 1}\n"), [(9, "<<", "unknown-key")]),
    "missing nested rate": (with_("  - rate: 0.02", "  - product: a"), [(8, "rates[0].rate", "missing-key"),
                                                                       (8, "rates", "catch-all")]),
    "missing quality keys": (plus("quality:\n  combine: min\n"),
                             [(10, "quality.window_days", "missing-key"), (10, "quality.metrics", "missing-key")]),
    "missing band multiplier": (
        plus("quality:\n  window_days: 30\n  metrics:\n    - metric: csat\n      bands:\n        - below: 0.5\n"),
        [(14, "quality.metrics[0].bands[0].multiplier", "missing-key"),
         (14, "quality.metrics[0].bands", "open-ended")]),
    "missing outbound share": (plus("outbound_credit:\n  channels: [sms]\n  window_days: 3\n"),
                               [(10, "outbound_credit.share", "missing-key")]),
    "missing clawback recover": (plus("clawback:\n  - within_days: 3\n"), [(10, "clawback[0].recover", "missing-key")]),
    "missing tier multiplier": (plus("attainment_tiers:\n  - up_to: 1\n"),
                                [(10, "attainment_tiers[0].multiplier", "missing-key"),
                                 (10, "attainment_tiers", "open-ended")]),
    # types
    "plan is a number": (with_("plan: inbound", "plan: 2026"), [(1, "plan", "wrong-type")]),
    "version as text": (with_("version: 1", "version: '3'"), [(2, "version", "wrong-type")]),
    "version as float": (with_("version: 1", "version: 1.5"), [(2, "version", "wrong-type")]),
    "version 2.0 is no int": (with_("version: 1", "version: 2.0"), [(2, "version", "wrong-type")]),
    "version as bool": (with_("version: 1", "version: true"), [(2, "version", "wrong-type")]),
    "rate as bool": (with_("rate: 0.02", "rate: true"), [(8, "rates[0].rate", "wrong-type")]),
    "rate as text": (with_("rate: 0.02", "rate: '0.02'"), [(8, "rates[0].rate", "wrong-type")]),
    "rate .inf": (with_("rate: 0.02", "rate: .inf"), [(8, "rates[0].rate", "wrong-type")]),
    "effective_from not a date": (with_("2026-01-01", "soon"), [(3, "effective_from", "wrong-type")]),
    "effective_from quoted bad date": (with_("2026-01-01", "'2026-02-30'"), [(3, "effective_from", "bad-date")]),
    "effective_from week date": (with_("2026-01-01", "'2026-W01-1'"), [(3, "effective_from", "wrong-type")]),
    "effective_from datetime": (with_("2026-01-01", "2026-01-01 00:00:00"), [(3, "effective_from", "wrong-type")]),
    "currency empty": (with_("currency: EUR", "currency: ''"), [(4, "currency", "empty-value")]),
    "currency null": (with_("currency: EUR", "currency:"), [(4, "currency", "wrong-type")]),
    "rates a mapping": (with_("rates:\n  - rate: 0.02", "rates:\n  rate: 0.02"), [(8, "rates", "wrong-type")]),
    "rate item a number": (with_("  - rate: 0.02", "  - 0.02"), [(8, "rates[0]", "wrong-type")]),
    "quality a list": (plus("quality: [1]\n"), [(9, "quality", "wrong-type")]),
    "connected_only yes": (plus("outbound_credit:\n  channels: [sms]\n  connected_only: yes\n  window_days: 3\n"
                                "  share: 0.5\n"), [(11, "outbound_credit.connected_only", "wrong-type")]),
    "window_days quoted": (plus("clawback:\n  - within_days: '3'\n    recover: 1\n"),
                           [(10, "clawback[0].within_days", "wrong-type")]),
    "product a number": (with_("  - rate: 0.02", "  - product: 42\n    rate: 0.1\n  - rate: 0.02"),
                         [(8, "rates[0].product", "wrong-type")]),
    "product list item a number": (with_("  - rate: 0.02", "  - product: [a, 42]\n    rate: 0.1\n  - rate: 0.02"),
                                   [(8, "rates[0].product[1]", "wrong-type")]),
    # keywords
    "period capitalised": (with_("period: month", "period: Month"), [(5, "period", "bad-keyword")]),
    "period unknown": (with_("period: month", "period: week"), [(5, "period", "bad-keyword")]),
    "rounding upper": (with_("half_up", "HALF_UP"), [(6, "rounding", "bad-keyword")]),
    "negative_balance": (plus("negative_balance: forgive\n"), [(9, "negative_balance", "bad-keyword")]),
    "combine": (plus("quality:\n  window_days: 1\n  combine: Min\n  metrics:\n    - metric: nps\n      bands:\n"
                     "        - multiplier: 1\n"), [(11, "quality.combine", "bad-keyword")]),
    "metric upper": (plus("quality:\n  window_days: 1\n  metrics:\n    - metric: CSAT\n      bands:\n"
                          "        - multiplier: 1\n"), [(12, "quality.metrics[0].metric", "bad-keyword")]),
    "channel": (plus("outbound_credit:\n  channels: [voice, phone]\n  window_days: 3\n  share: 0.5\n"),
                [(10, "outbound_credit.channels[1]", "bad-keyword")]),
    # values
    "version 0": (with_("version: 1", "version: 0"), [(2, "version", "out-of-range")]),
    "not a month start": (with_("2026-01-01", "2026-01-15"), [(3, "effective_from", "not-period-start")]),
    "not a quarter start": (with_("2026-01-01", "2026-02-01").replace("period: month", "period: quarter"),
                            [(3, "effective_from", "not-period-start")]),
    "rate above 1": (with_("rate: 0.02", "rate: 1.5"), [(8, "rates[0].rate", "out-of-range")]),
    "rate negative": (with_("rate: 0.02", "rate: -0.1"), [(8, "rates[0].rate", "out-of-range")]),
    "rate too precise": (with_("rate: 0.02", "rate: 0.0000001"), [(8, "rates[0].rate", "too-precise")]),
    "rate too large": (with_("rate: 0.02", "rate: 1e400"), [(8, "rates[0].rate", "out-of-range")]),
    "rates empty": (with_("rates:\n  - rate: 0.02", "rates: []"), [(7, "rates", "empty-list")]),
    "product list empty": (with_("  - rate: 0.02", "  - product: []\n    rate: 0.1\n  - rate: 0.02"),
                           [(8, "rates[0].product", "empty-list")]),
    "no catch-all": (with_("  - rate: 0.02", "  - product: a\n    rate: 0.02"), [(8, "rates", "catch-all")]),
    "catch-all not last": (with_("  - rate: 0.02", "  - rate: 0.02\n  - product: a\n    rate: 0.1"),
                           [(8, "rates[0]", "catch-all")]),
    "two catch-alls": (with_("  - rate: 0.02", "  - rate: 0.02\n  - rate: 0.03"), [(8, "rates[0]", "catch-all")]),
    "tiers empty": (plus("attainment_tiers: []\n"), [(9, "attainment_tiers", "empty-list")]),
    "tier up_to 0": (plus("attainment_tiers:\n  - up_to: 0\n    multiplier: 1\n  - multiplier: 1\n"),
                     [(10, "attainment_tiers[0].up_to", "out-of-range")]),
    "tier up_to not increasing": (
        plus("attainment_tiers:\n  - up_to: 1\n    multiplier: 1\n  - up_to: 1.0\n    multiplier: 1\n"
             "  - multiplier: 2\n"), [(12, "attainment_tiers[1].up_to", "not-increasing")]),
    "tier multiplier negative": (plus("attainment_tiers:\n  - multiplier: -0.5\n"),
                                 [(10, "attainment_tiers[0].multiplier", "out-of-range")]),
    "tier multiplier too precise": (plus("attainment_tiers:\n  - multiplier: 1.0000001\n"),
                                    [(10, "attainment_tiers[0].multiplier", "too-precise")]),
    "no open tier": (plus("attainment_tiers:\n  - up_to: 1\n    multiplier: 1\n"),
                     [(10, "attainment_tiers", "open-ended")]),
    "open tier not last": (plus("attainment_tiers:\n  - multiplier: 1\n  - up_to: 1\n    multiplier: 2\n"),
                           [(10, "attainment_tiers[0]", "open-ended")]),
    "quality window 0": (plus("quality:\n  window_days: 0\n  metrics:\n    - metric: nps\n      bands:\n"
                              "        - multiplier: 1\n"), [(10, "quality.window_days", "out-of-range")]),
    "min_responses 0": (plus("quality:\n  window_days: 1\n  min_responses: 0\n  metrics:\n    - metric: nps\n"
                             "      bands:\n        - multiplier: 1\n"),
                        [(11, "quality.min_responses", "out-of-range")]),
    "metrics empty": (plus("quality:\n  window_days: 1\n  metrics: []\n"), [(11, "quality.metrics", "empty-list")]),
    "metric twice": (plus("quality:\n  window_days: 1\n  metrics:\n    - metric: nps\n      bands:\n"
                          "        - multiplier: 1\n    - metric: nps\n      bands:\n        - multiplier: 1\n"),
                     [(15, "quality.metrics[1].metric", "duplicate-entry")]),
    "band below not increasing": (
        plus("quality:\n  window_days: 1\n  metrics:\n    - metric: csat\n      bands:\n"
             "        - below: 0.8\n          multiplier: 1\n        - below: 0.7\n          multiplier: 1\n"
             "        - multiplier: 1\n"), [(16, "quality.metrics[0].bands[1].below", "not-increasing")]),
    "open band not last": (
        plus("quality:\n  window_days: 1\n  metrics:\n    - metric: nps\n      bands:\n"
             "        - multiplier: 1\n        - below: 0\n          multiplier: 1\n"),
        [(14, "quality.metrics[0].bands[0]", "open-ended")]),
    "band multiplier negative": (
        plus("quality:\n  window_days: 1\n  metrics:\n    - metric: nps\n      bands:\n        - multiplier: -1\n"),
        [(14, "quality.metrics[0].bands[0].multiplier", "out-of-range")]),
    "csat band as percent": (
        plus("quality:\n  window_days: 1\n  metrics:\n    - metric: csat\n      bands:\n"
             "        - below: 70\n          multiplier: 1\n        - multiplier: 1\n"),
        [(14, "quality.metrics[0].bands[0].below", "out-of-range")]),
    "channels empty": (plus("outbound_credit:\n  channels: []\n  window_days: 3\n  share: 0.5\n"),
                       [(10, "outbound_credit.channels", "empty-list")]),
    "channel twice": (plus("outbound_credit:\n  channels: [sms, voice, sms]\n  window_days: 3\n  share: 0.5\n"),
                      [(10, "outbound_credit.channels[2]", "duplicate-entry")]),
    "outbound window negative": (plus("outbound_credit:\n  channels: [sms]\n  window_days: -1\n  share: 0.5\n"),
                                 [(11, "outbound_credit.window_days", "out-of-range")]),
    "share 0": (plus("outbound_credit:\n  channels: [sms]\n  window_days: 3\n  share: 0\n"),
                [(12, "outbound_credit.share", "out-of-range")]),
    "share 1": (plus("outbound_credit:\n  channels: [sms]\n  window_days: 3\n  share: 1.0\n"),
                [(12, "outbound_credit.share", "out-of-range")]),
    "clawback not increasing": (plus("clawback:\n  - within_days: 30\n    recover: 1\n  - within_days: 30\n"
                                     "    recover: 0.5\n"), [(12, "clawback[1].within_days", "not-increasing")]),
    "clawback days negative": (plus("clawback:\n  - within_days: -1\n    recover: 1\n"),
                               [(10, "clawback[0].within_days", "out-of-range")]),
    "clawback days float": (plus("clawback:\n  - within_days: 1.5\n    recover: 1\n"),
                            [(10, "clawback[0].within_days", "wrong-type")]),
    "recover above 1": (plus("clawback:\n  - within_days: 1\n    recover: 1.5\n"),
                        [(11, "clawback[0].recover", "out-of-range")]),
    "clawback empty": (plus("clawback: []\n"), [(9, "clawback", "empty-list")]),
    "cap negative": (plus("cap: -1\n"), [(9, "cap", "out-of-range")]),
    "cap three decimals": (plus("cap: 100.005\n"), [(9, "cap", "too-precise")]),
    "cap as text": (plus("cap: '100'\n"), [(9, "cap", "wrong-type")]),
}


@pytest.mark.parametrize("text, expected", CASES.values(), ids=CASES.keys())
def test_rule(text, expected):
    assert sorted(problems(text), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize("key", ["plan", "version", "effective_from", "currency", "period", "rounding", "rates"])
def test_missing_required_top_level_key(key):
    lines = BASE.splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(f"{key}:") and not (key == "rates" and line.startswith(" "))]
    assert problems("".join(kept)) == [(1, key, "missing-key")]


def test_missing_key_line_is_where_the_mapping_starts():
    assert problems("# the inbound plan\n\n" + BASE.replace("version: 1\n", "")) == [(3, "version", "missing-key")]


def test_all_problems_of_a_file_are_reported_together():
    text = with_("version: 1", "version: 0").replace("period: month", "period: Month") + "cap: x\nbonus: 1\n"
    assert problems(text) == [(2, "version", "out-of-range"), (5, "period", "bad-keyword"),
                              (9, "cap", "wrong-type"), (10, "bonus", "unknown-key")]


def test_reading_problems_and_schema_problems_come_together():
    text = with_("rate: 0.02", "rate: !!python/name:os.system").replace("version: 1", "version: 0")
    assert problems(text) == [(2, "version", "out-of-range"), (8, "rates[0].rate", "yaml-tag")]


# ---- messages worth reading ------------------------------------------------------------------------


def test_plan_number_hints_quotes():
    assert 'write it in quotes: "2026"' in message(with_("plan: inbound", "plan: 2026"))


def test_keyword_case_hint():
    assert "write 'month'" in message(with_("period: month", "period: Month"))


def test_unknown_key_suggests_the_close_one():
    assert "did you mean 'rates'" in message(plus("rate: 1\n"))


def test_quoted_whole_number_hint():
    assert "remove the quotes" in message(with_("version: 1", "version: '3'"))


def test_not_period_start_names_the_kind():
    assert message(with_("2026-01-01", "2026-01-15")) == "2026-01-15 is not the first day of a month"


# ---- reading the file ---------------------------------------------------------------------------------


def test_syntax_error_gives_line_and_excerpt():
    text = with_("rounding: half_up", "rounding: half_up: x")
    plan, (d,) = parse_plan(text, "p.yaml")
    assert plan is None and (d.file, d.line, d.column, d.code) == ("p.yaml", 6, None, "yaml-syntax")
    assert "near: rounding: half_up: x" in d.message


def test_more_than_one_document_is_a_syntax_error():
    assert problems(BASE + "---\n" + BASE) == [(9, None, "yaml-syntax")]


@pytest.mark.parametrize("text, line", [
    ("plan: &p inbound\nversion: 1\n", 1),
    (with_("rates:\n  - rate: 0.02", "rates: &r\n  - rate: 0.02") + "x: *r\n", 7),
])
def test_anchors_and_aliases_are_refused(text, line):
    assert problems(text) == [(line, None, "yaml-alias")]


def test_alias_bomb_is_refused_at_once():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    assert problems(bomb) == [(1, None, "yaml-alias")]


def test_deep_nesting_is_refused():
    assert problems("a: " + "[" * 5000 + "]" * 5000 + "\n") == [(1, None, "yaml-depth")]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(text):
    assert problems(text) == [(1, None, "empty-file")]


@pytest.mark.parametrize("data, line", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),        # binary
    (BASE.encode("utf-16"), None),                          # UTF-16 with BOM
    (BASE.encode() + b"note: caf\xe9\n", 9),               # Latin-1 byte
    (BASE.encode() + b"note: \x07\n", 9),                  # control character
])
def test_not_utf8_text(data, line):
    assert problems(data) == [(line, None, "encoding")]


def test_file_over_one_mib(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(BASE.encode() + b"#" * (1024 * 1024) + b"\n")
    plan, diagnostics = load_plan_file(path)
    assert plan is None
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [(str(path), None, None, "file-too-large")]


def test_load_plan_file(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(BASE)
    plan, diagnostics = load_plan_file(path)
    assert diagnostics == [] and plan.source == str(path)
    assert plan.sha256 == hashlib.sha256(BASE.encode()).hexdigest()


def test_load_plan_file_missing(tmp_path):
    plan, (d,) = load_plan_file(tmp_path / "nope.yaml")
    assert plan is None and (d.file, d.line, d.code) == (str(tmp_path / "nope.yaml"), None, "file-read")


# ---- the plans directory ----------------------------------------------------------------------------


def write(path, text=BASE):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_plans_reads_yaml_and_yml_sorted_not_recursive(tmp_path):
    write(tmp_path / "b.yml", with_("plan: inbound", "plan: outbound"))
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "c.yaml", with_("version: 1", "version: 2").replace("2026-01-01", "2026-07-01"))
    write(tmp_path / "nested" / "d.yaml", "not: a plan\n")
    write(tmp_path / ".#a.yaml", "lock file\n")
    write(tmp_path / "notes.txt", "ignored\n")
    plans, diagnostics = load_plans(tmp_path)
    assert diagnostics == []
    assert [(p.plan, p.version, p.source) for p in plans.plans] == [
        ("inbound", 1, str(tmp_path / "a.yaml")),
        ("inbound", 2, str(tmp_path / "c.yaml")),
        ("outbound", 1, str(tmp_path / "b.yml")),
    ]


def test_load_plans_keeps_good_plans_and_reports_bad_files_in_name_order(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "c.yaml", "- x\n")
    write(tmp_path / "b.yaml", with_("plan: inbound", "plan: other").replace("rate: 0.02", "rate: 2"))
    plans, diagnostics = load_plans(str(tmp_path))
    assert [p.plan for p in plans.plans] == ["inbound"]
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [
        (str(tmp_path / "b.yaml"), 8, "rates[0].rate", "out-of-range"),
        (str(tmp_path / "c.yaml"), 1, None, "not-a-mapping"),
    ]


@pytest.mark.parametrize("setup, code, message", [
    (lambda d: d / "missing", "missing-dir", "does not exist"),
    (lambda d: write(d / "plan.yaml"), "not-a-directory", "is a file"),
    (lambda d: write(d / "readme.md", "hi") and d, "no-plan-files", "no plan files"),
])
def test_plans_dir_problems(tmp_path, setup, code, message):
    target = setup(tmp_path)
    plans, (d,) = load_plans(target)
    assert plans.plans == ()
    assert (d.file, d.line, d.column, d.code) == (str(target), None, None, code)
    assert message in d.message


def load_pair(tmp_path, first: str, second: str):
    write(tmp_path / "a.yaml", first)
    write(tmp_path / "b.yaml", second)
    return load_plans(tmp_path)


def test_duplicate_version(tmp_path):
    plans, diagnostics = load_pair(tmp_path, BASE, with_("2026-01-01", "2026-02-01"))
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [
        (str(tmp_path / "b.yaml"), 2, "version", "duplicate-version")]
    assert "a.yaml" in diagnostics[0].message


def test_two_versions_with_the_same_effective_from(tmp_path):
    _, diagnostics = load_pair(tmp_path, BASE, with_("version: 1", "version: 2"))
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [
        (str(tmp_path / "b.yaml"), 3, "effective_from", "duplicate-effective-from")]


def test_versions_of_one_plan_share_the_period_kind(tmp_path):
    quarterly = with_("version: 1", "version: 2").replace("2026-01-01", "2026-04-01").replace("month", "quarter")
    _, diagnostics = load_pair(tmp_path, BASE, quarterly)
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [
        (str(tmp_path / "b.yaml"), 5, "period", "period-kind-mismatch")]


def test_different_plans_may_differ_in_period_kind(tmp_path):
    _, diagnostics = load_pair(tmp_path, BASE, with_("plan: inbound", "plan: q").replace("month", "quarter"))
    assert diagnostics == []


def test_plans_may_differ_in_currency(tmp_path):
    write(tmp_path / "c.yaml", with_("plan: inbound", "plan: third"))
    _, diagnostics = load_pair(tmp_path, with_("currency: EUR", "# usd\ncurrency: USD"),
                               with_("plan: inbound", "plan: other"))
    assert diagnostics == []


def test_versions_of_one_plan_share_the_currency(tmp_path):
    _, diagnostics = load_pair(tmp_path, BASE, with_("version: 1", "version: 2").replace("2026-01-01", "2026-04-01")
                               .replace("currency: EUR", "currency: USD"))
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [
        (str(tmp_path / "b.yaml"), 4, "currency", "currency-mismatch")]


@pytest.mark.parametrize("code", ["EURO", "eur", "E1R"])
def test_plan_currency_is_three_upper_case_letters(code):
    _, diagnostics = parse_plan(with_("currency: EUR", f"currency: {code}"), "a.yaml")
    assert [(d.line, d.column, d.code) for d in diagnostics] == [(4, "currency", "bad-currency")]


def test_check_plan_set_on_parsed_plans():
    a = parse_plan(BASE, "a.yaml")[0]
    b = parse_plan(BASE, "b.yaml")[0]
    assert [(d.file, d.line, d.column, d.code) for d in check_plan_set([a, b])] == [
        ("b.yaml", 2, "version", "duplicate-version")]
    assert check_plan_set([]) == []


# ---- robustness: no input makes the loader raise ---------------------------------------------------


@settings(max_examples=150 * FUZZ_SCALE, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_plans_never_raise(data):
    text = SPEC_EXAMPLE
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 12)))
        piece = data.draw(st.sampled_from(["", "-", ":", " ", "\n", "x", "[", "&a", "*a", "!!", "0", "'"]))
        text = text[:i] + piece + text[j:]
    plan, diagnostics = parse_plan(text, "p.yaml")
    assert (plan is None) == bool(diagnostics)
    assert all(d.file == "p.yaml" and (d.line is None or d.line >= 1) for d in diagnostics)


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_input_never_raises(blob):
    plan, diagnostics = parse_plan(blob, "p.yaml")
    assert plan is None and diagnostics


@pytest.mark.parametrize("text, line, near", [
    # a missing ':' on line 5: pyyaml notices on line 6, where the next key starts
    (with_("period: month", "period month"), 5, "period month"),
    # a missing ":" inside a rate rule (line 9) and on the very last line (line 9)
    (with_("  - rate: 0.02", "  - product: card\n    rate 0.03\n  - rate: 0.02"), 9, "rate 0.03"),
    (plus("cap 100\n"), 9, "cap 100"),
    # bad indentation: the line indented too far or too little is the one reported
    (with_("  - rate: 0.02", "  - product: card\n     rate: 0.03\n  - rate: 0.02"), 9, "rate: 0.03"),
    (with_("  - rate: 0.02", "  - product: card\n   rate: 0.03\n  - rate: 0.02"), 9, "rate: 0.03"),
    # an unclosed quote is reported where it opens, not at the end of the file
    (with_("currency: EUR", 'currency: "EUR'), 4, 'currency: "EUR'),
    (with_("currency: EUR", "currency: 'EUR"), 4, "currency: 'EUR"),
    # an unclosed bracket: where it opens
    (with_("  - rate: 0.02", "  - product: [card, loan\n    rate: 0.03\n  - rate: 0.02"), 8, "- product: [card, loan"),
    (plus("cap: [1, 2\n"), 9, "cap: [1, 2"),
])
def test_a_syntax_error_names_the_line_where_the_mistake_is(text, line, near):
    plan, (d,) = parse_plan(text, "p.yaml")
    assert plan is None and (d.line, d.code) == (line, "yaml-syntax")
    assert d.message.endswith(f"near: {near}")


# ---- outcome_bonus (SPEC 6.2) ------------------------------------------------------------------

# lines 9-16 when appended to BASE
BONUS = """\
outcome_bonus:
  metric: nps
  window_days: 90
  bands:
    - below: 30
      amount: 0
    - below: 60
      amount: 250.00
"""
OPEN_BAND = "    - amount: 500.00\n"


def test_outcome_bonus_loads_exactly_with_its_default():
    from comp_calc.plan.model import BonusBand, OutcomeBonus

    plan, diagnostics = parse_plan(plus(BONUS + OPEN_BAND), "p.yaml")
    assert diagnostics == []
    assert plan.outcome_bonus == OutcomeBonus(
        "nps", 90, 1, (BonusBand(Decimal("30"), Decimal("0")), BonusBand(Decimal("60"), Decimal("250.00")), BonusBand(None, Decimal("500.00")))
    )


BONUS_CASES = {
    "no open last band": (plus(BONUS), [(13, "outcome_bonus.bands", "open-ended")]),
    "amount with 3 decimals": (plus(BONUS.replace("250.00", "250.005") + OPEN_BAND),
                               [(16, "outcome_bonus.bands[1].amount", "too-precise")]),
    "negative amount": (plus(BONUS.replace("amount: 0", "amount: -1") + OPEN_BAND),
                        [(14, "outcome_bonus.bands[0].amount", "out-of-range")]),
    "unknown key": (plus(BONUS + OPEN_BAND + "  cap: 5\n"), [(18, "outcome_bonus.cap", "unknown-key")]),
    "unknown band key": (plus(BONUS + OPEN_BAND + "      multiplier: 1\n"),
                         [(18, "outcome_bonus.bands[2].multiplier", "unknown-key")]),
    "bad metric": (plus(BONUS.replace("metric: nps", "metric: sales") + OPEN_BAND),
                   [(10, "outcome_bonus.metric", "bad-keyword")]),
    "window 0": (plus(BONUS.replace("window_days: 90", "window_days: 0") + OPEN_BAND),
                 [(11, "outcome_bonus.window_days", "out-of-range")]),
    "min_responses 0": (plus(BONUS + OPEN_BAND + "  min_responses: 0\n"),
                        [(18, "outcome_bonus.min_responses", "out-of-range")]),
    "bands not increasing": (plus(BONUS.replace("below: 60", "below: 30") + OPEN_BAND),
                             [(15, "outcome_bonus.bands[1].below", "not-increasing")]),
    "below outside the metric's range": (plus(BONUS.replace("below: 60", "below: 160") + OPEN_BAND),
                                         [(15, "outcome_bonus.bands[1].below", "out-of-range")]),
    "missing amount": (plus(BONUS + "    - below: 90\n"),
                       [(17, "outcome_bonus.bands[2].amount", "missing-key"), (13, "outcome_bonus.bands", "open-ended")]),
}


@pytest.mark.parametrize("text, expected", BONUS_CASES.values(), ids=BONUS_CASES.keys())
def test_outcome_bonus_rule(text, expected):
    assert sorted(problems(text), key=str) == sorted(expected, key=str)


# ---- draw (SPEC 6.2) ---------------------------------------------------------------------------

# lines 9-10 when appended to BASE
DRAW = """\
draw:
  amount: 1500.00
"""


def test_draw_loads_exactly_and_is_recoverable_by_default():
    from comp_calc.plan.model import Draw

    assert ok(plus(DRAW)).draw == Draw(Decimal("1500.00"), True)
    assert ok(plus(DRAW + "  recoverable: false\n")).draw == Draw(Decimal("1500.00"), False)
    assert ok(plus(DRAW.replace("1500.00", "0"))).draw == Draw(Decimal("0"), True)
    assert ok(BASE).draw is None


DRAW_CASES = {
    "amount with 3 decimals": (plus(DRAW.replace("1500.00", "1500.005")), [(10, "draw.amount", "too-precise")]),
    "negative amount": (plus(DRAW.replace("1500.00", "-1")), [(10, "draw.amount", "out-of-range")]),
    "amount as text": (plus(DRAW.replace("1500.00", "lots")), [(10, "draw.amount", "wrong-type")]),
    "missing amount": (plus("draw:\n  recoverable: true\n"), [(10, "draw.amount", "missing-key")]),
    "recoverable not a boolean": (plus(DRAW + "  recoverable: sometimes\n"), [(11, "draw.recoverable", "wrong-type")]),
    "unknown key": (plus(DRAW + "  guaranteed: true\n"), [(11, "draw.guaranteed", "unknown-key")]),
    "draw not a mapping": (plus("draw: 1500\n"), [(9, "draw", "wrong-type")]),
}


@pytest.mark.parametrize("text, expected", DRAW_CASES.values(), ids=DRAW_CASES.keys())
def test_draw_rule(text, expected):
    assert sorted(problems(text), key=str) == sorted(expected, key=str)


# ---- activity (SPEC 6.2) -----------------------------------------------------------------------

# lines 9-12 when appended to BASE
ACTIVITY = """\
activity:
  channels: [voice]
  target: 12
  bonus: 300.00
"""


def test_activity_loads_exactly_with_its_defaults():
    from comp_calc.plan.model import Activity

    plan, diagnostics = parse_plan(plus(ACTIVITY), "p.yaml")
    assert diagnostics == []
    # connected_only defaults to true, distinct_customers to false, no value weighting
    assert plan.activity == Activity(("voice",), True, 12, Decimal("300.00"), False, None)
    text = plus(ACTIVITY + "  connected_only: false\n  distinct_customers: true\n  min_customer_value: 1000\n")
    plan, diagnostics = parse_plan(text, "p.yaml")
    assert diagnostics == []
    assert plan.activity == Activity(("voice",), False, 12, Decimal("300.00"), True, Decimal("1000"))


ACTIVITY_CASES = {
    "unknown key": (plus(ACTIVITY + "  window_days: 30\n"), [(13, "activity.window_days", "unknown-key")]),
    "target 0": (plus(ACTIVITY.replace("target: 12", "target: 0")), [(11, "activity.target", "out-of-range")]),
    "target not whole": (plus(ACTIVITY.replace("target: 12", "target: 1.5")), [(11, "activity.target", "wrong-type")]),
    "bonus with 3 decimals": (plus(ACTIVITY.replace("300.00", "300.005")), [(12, "activity.bonus", "too-precise")]),
    "negative bonus": (plus(ACTIVITY.replace("300.00", "-1")), [(12, "activity.bonus", "out-of-range")]),
    "min_customer_value negative": (plus(ACTIVITY + "  min_customer_value: -5\n"),
                                    [(13, "activity.min_customer_value", "out-of-range")]),
    "min_customer_value with 3 decimals": (plus(ACTIVITY + "  min_customer_value: 0.001\n"),
                                           [(13, "activity.min_customer_value", "too-precise")]),
    "bad channel": (plus(ACTIVITY.replace("[voice]", "[phone]")), [(10, "activity.channels[0]", "bad-keyword")]),
    "channel twice": (plus(ACTIVITY.replace("[voice]", "[voice, voice]")), [(10, "activity.channels[1]", "duplicate-entry")]),
    "connected_only not a boolean": (plus(ACTIVITY + "  connected_only: yes please\n"),
                                     [(13, "activity.connected_only", "wrong-type")]),
    "missing target and bonus, all at once": (plus("activity:\n  channels: [voice]\n"),
                                              [(10, "activity.target", "missing-key"), (10, "activity.bonus", "missing-key")]),
}


@pytest.mark.parametrize("text, expected", ACTIVITY_CASES.values(), ids=ACTIVITY_CASES.keys())
def test_activity_rule(text, expected):
    assert sorted(problems(text), key=str) == sorted(expected, key=str)
