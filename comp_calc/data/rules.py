"""The row rules of SPEC section 1 as polars expressions, how they are applied to a
file's rows, and how the rows that pass are typed (the codes are listed in
`comp_calc.data.load`).

How it stays fast (same results, less work on valid data): rules are boolean
expressions evaluated over all rows; a message is built only for the rows that
break a rule (normally none), see `apply_rules`.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from comp_calc.data.contract import (
    COMPOSITE_KEYS, CURRENCY_RE, ENUMS, ID_KEYS, MAX_DECIMALS, MAX_INTEGER_DIGITS, OPTIONAL_KINDS, SCORE_RANGE,
)  # fmt: skip
from comp_calc.data.model import COLUMNS
from comp_calc.errors import Diagnostic

_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_MONTH_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_DECIMAL_RE = r"^[0-9]+(\.[0-9]+)?$"
_CONTROL_RE = r"[\x00-\x1f\x7f]"


class Rule(NamedTuple):
    """One row rule.

    `bad` is a boolean expression, true on the rows that break the rule (null
    counts as false); without `pre` it is evaluated on every row, so it may
    look at the whole frame (`is_first_distinct`...). `pre`, when given, is a
    cheaper expression true on every row where `bad` may be true (a screen):
    `bad` is then evaluated only on the rows `pre` lets through, so it must
    look at its own row only. `message` is the reason, evaluated only on the
    rows that break the rule, so it may be as costly as it likes; what it
    needs from other rows (a window such as `.over(...)`) goes in `context`,
    named expressions evaluated on every row of the frame, but only when the
    rule breaks somewhere.
    """

    column: str | None
    code: str
    bad: pl.Expr
    message: pl.Expr
    pre: pl.Expr | None = None
    context: tuple[pl.Expr, ...] = ()


def _date_column(column: str) -> str:
    return f"_date_{column}"


def parsed_columns(name: str) -> list[pl.Expr]:
    """Columns parsed once, used by the rules and then by `typed_rows`: dates, the score."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        if kind in ("date", "optional_date"):
            exprs.append(_parse_date(pl.col(column)).alias(_date_column(column)))
        elif kind == "month":  # YYYY-MM as the month's first day
            v = pl.col(column)
            first = pl.when(v.str.contains(_MONTH_RE) & ~v.str.starts_with("0000")).then(v + "-01")
            exprs.append(first.str.to_date("%Y-%m-%d", strict=False).alias(_date_column(column)))
        elif kind == "int":
            exprs.append(pl.col(column).str.strip_prefix("+").cast(pl.Int64, strict=False).alias(f"_int_{column}"))
        elif kind == "decimal":  # the decimals written (null: no point), which set the typed scale
            v = pl.col(column)
            exprs.append((v.str.len_bytes() - v.str.find(".", literal=True) - 1).alias(_decimals_column(column)))
    return exprs


def _decimals_column(column: str) -> str:
    return f"_decimals_{column}"


def ids_in_order(name: str) -> pl.Expr | None:
    """True when the file's ids strictly increase row after row (exports often are in id order),
    so that none can repeat; None for a file keyed by several columns."""
    if name in COMPOSITE_KEYS:
        return None
    ids = pl.col(ID_KEYS[name])
    return (ids > ids.shift(1)).fill_null(True).all()


def row_rules(name: str, frame: pl.DataFrame, width: int, controls: bool = True, in_order: bool | None = None) -> list[Rule]:
    """Every single-row and within-file rule of `name` on `frame` (a `Raw` frame plus `parsed_columns`).

    `controls=False` says no cell holds a control character (`_Survey`); `in_order`, when
    known, is `ids_in_order` of the frame.
    """
    ragged = "_ragged" in frame.columns
    shaped = pl.col("_ragged").is_null() if ragged else pl.lit(True)
    rules: list[Rule] = []
    if ragged:
        rules.append(Rule(None, "wrong-field-count", ~shaped,
                          pl.format("has {} fields but the header has " + str(width), pl.col("_ragged"))))

    def rule(column: str, code: str, bad: pl.Expr, message: pl.Expr | str, pre: pl.Expr | None = None,
             context: tuple[pl.Expr, ...] = ()) -> None:
        msg = pl.lit(message) if isinstance(message, str) else message
        rules.append(Rule(column, code, shaped & bad, msg, pre, context))

    def quoted(column: str) -> pl.Expr:
        return pl.format("'{}'", pl.col(column))

    for column, kind in COLUMNS[name].items():
        v = pl.col(column)
        empty = v == ""
        present = ~empty
        if kind not in OPTIONAL_KINDS:
            rule(column, "missing-value", empty, f"{column} is empty")
        if kind in ("id", "optional_id"):
            rule(column, "bad-id", present & v.str.contains(_CONTROL_RE),
                 f"{column} contains a control character (tab, line break, NUL...)",
                 pre=None if controls else pl.lit(False))
        elif kind in ("date", "optional_date"):
            rule(column, "bad-date", present & pl.col(_date_column(column)).is_null(),
                 pl.format("{} {} is not a real date written YYYY-MM-DD", pl.lit(column), quoted(column)))
        elif kind == "decimal":
            plain = v.str.contains(_DECIMAL_RE)
            point = v.str.find(".", literal=True)
            # both only meaningful where `plain` holds (digits, at most one point)
            decimals = (v.str.len_bytes().cast(pl.Int64) - point - 1).fill_null(0)
            digits = point.fill_null(v.str.len_bytes()).cast(pl.Int64)
            # every bad-decimal row fails this one pattern
            odd = present & ~v.str.contains(
                rf"^[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]{{1,{MAX_DECIMALS}}})?$"
            )
            rule(column, "bad-decimal", present & ~plain,
                 pl.format("{} {} is not a plain decimal number like 1234.56", pl.lit(column), quoted(column)),
                 pre=odd)
            rule(column, "bad-decimal", present & plain & (decimals > MAX_DECIMALS),
                 pl.format("{} {} has more than {} decimals", pl.lit(column), quoted(column), pl.lit(MAX_DECIMALS)),
                 pre=odd)
            rule(column, "bad-decimal", present & plain & (digits > MAX_INTEGER_DIGITS),
                 pl.format("{} {} has more than {} digits before the point", pl.lit(column), quoted(column),
                           pl.lit(MAX_INTEGER_DIGITS)),
                 pre=odd)
            if column == "amount" or (name, column) == ("fx_rates", "rate"):
                rule(column, "out-of-range", v.str.contains(r"^0+(\.0+)?$"),
                     pl.format("{} {} must be greater than 0", pl.lit(column), quoted(column)),
                     pre=v.str.starts_with("0"))
        elif kind in ("currency", "optional_currency"):
            rule(column, "bad-currency", present & ~v.str.contains(CURRENCY_RE),
                 pl.format("{} {} is not a currency code of 3 upper-case letters like EUR", pl.lit(column), quoted(column)))
        elif kind == "month":
            rule(column, "bad-month", present & pl.col(_date_column(column)).is_null(),
                 pl.format("{} {} is not a month written YYYY-MM", pl.lit(column), quoted(column)))
        elif kind == "enum":
            allowed = ENUMS[column]
            rule(column, "bad-enum", present & ~v.is_in(allowed),
                 pl.format("{} {} must be one of: " + ", ".join(allowed), pl.lit(column), quoted(column)))
        elif kind == "bool":
            rule(column, "bad-bool", present & ~v.is_in(["true", "false"]),
                 pl.format("{} {} must be true or false", pl.lit(column), quoted(column)))
        elif kind == "int":
            score = pl.col(f"_int_{column}")
            rule(column, "bad-integer", present & (~v.str.contains(r"^[+-]?[0-9]+$") | score.is_null()),
                 pl.format("{} {} is not a whole number", pl.lit(column), quoted(column)))
            for survey, (low, high) in SCORE_RANGE.items():
                rule(column, "out-of-range", (pl.col("survey") == survey) & ((score < low) | (score > high)),
                     pl.format("{} score {} is outside {}..{}", pl.lit(survey), quoted(column), low, high))

    ordered = {"reps": ("start_date", "end_date", "end-before-start"),
               "sales": ("sold_on", "cancelled_on", "cancelled-before-sold"),
               "campaigns": ("starts_on", "ends_on", "ends-before-starts")}
    if name in ordered:
        first, later, code = ordered[name]
        rule(later, code, pl.col(_date_column(later)) < pl.col(_date_column(first)),
             pl.format("{} {} is before {} {}", pl.lit(later), pl.col(later), pl.lit(first), pl.col(first)))

    if name == "fx_rates":  # SPEC 6.1: a rate converts between two different currencies
        rule("to", "same-currency", (pl.col("to") != "") & (pl.col("to") == pl.col("currency")),
             pl.format("to {} is the same currency as currency: a rate converts between two currencies", quoted("to")))
    if name in COMPOSITE_KEYS:
        columns = COMPOSITE_KEYS[name]
        key = pl.when(shaped & pl.all_horizontal(pl.col(c) != "" for c in columns)).then(
            pl.concat_str([pl.col(c) for c in columns], separator="\x1f")
        )
        rule(columns[0], "duplicate-key", key.is_not_null() & ~key.is_first_distinct(),
             pl.format("duplicate " + ", ".join(columns) + " ({}) (first on line {})",
                       pl.concat_str([pl.col(c) for c in columns], separator=", "), pl.col("_first_line")),
             context=(pl.col("line").first().over(key).alias("_first_line"),))
        return rules

    key_name = ID_KEYS[name]
    ids = pl.col(key_name)
    key = pl.when(shaped & (ids != "")).then(ids)
    if in_order is None:
        in_order = frame.select(ids_in_order(name)).item()
    if in_order:
        repeated = pl.lit(False)  # ids in strictly increasing order (exports often are): all distinct
    elif ragged:
        repeated = key.is_not_null() & ~key.is_first_distinct()
    else:
        # without ragged rows the key is the column itself (empty ids are excluded
        # and cannot hide a later duplicate), which spares building a copy of it
        repeated = (ids != "") & ~ids.is_first_distinct()
    rule(key_name, "duplicate-id", repeated,
         pl.format("duplicate {} {} (first on line {})", pl.lit(key_name), quoted(key_name), pl.col("_first_line")),
         context=(pl.col("line").first().over(key).alias("_first_line"),))
    return rules


def _parse_date(v: pl.Expr) -> pl.Expr:
    """The date, or null unless `v` is YYYY-MM-DD naming a real day in years 1..9999."""
    return pl.when(v.str.contains(_DATE_RE) & ~v.str.starts_with("0000")).then(
        v.str.to_date("%Y-%m-%d", strict=False)
    )


def reference_rules(
    kept_reps: pl.Series, rejected: pl.DataFrame | None = None, reps_file: str = "reps.csv", *, ragged: bool = False
) -> list[Rule]:
    """rep_id must name a kept rep.

    `rejected` is `rejected_rep_lines(...)` (rep_id, _rep_line); `ragged`
    says the frame has a `_ragged` column (rows with a wrong field count are
    not checked).
    """
    rep = pl.col("rep_id")
    usable = (rep != "") & ~rep.str.contains(_CONTROL_RE)
    if ragged:
        usable = pl.col("_ragged").is_null() & usable
    if rejected is None or rejected.height == 0:
        is_rejected = pl.lit(False)
        rep_line = pl.lit(None, pl.Int64)
    else:
        is_rejected = rep.is_in(rejected["rep_id"].implode())
        rep_line = rep.replace_strict(rejected["rep_id"], rejected["_rep_line"], default=None, return_dtype=pl.Int64)
    known = rep.is_in(kept_reps.implode())
    return [
        Rule("rep_id", "rep-rejected", usable & is_rejected,
             pl.format("rep '{}' was rejected ({} line {})", rep, pl.lit(reps_file), rep_line), pre=is_rejected),
        Rule("rep_id", "unknown-rep", usable & ~is_rejected & ~known,
             pl.format("rep '{}' is not in {}", rep, pl.lit(reps_file)), pre=~known),
    ]


def rejected_rep_lines(rejected: pl.DataFrame, kept_reps: pl.Series) -> pl.DataFrame:
    """(rep_id, _rep_line): reps whose every row was rejected, with their first line."""
    return (
        rejected.filter((pl.col("rep_id") != "") & ~pl.col("rep_id").is_in(kept_reps.implode()))
        .group_by("rep_id")
        .agg(_rep_line=pl.col("line").min())
    )


def apply_rules(
    frame: pl.DataFrame, rules: list[Rule], file: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[Diagnostic]]:
    """Evaluate `rules` on `frame`: (kept rows, rejected rows, diagnostics).

    Valid data costs no text and little work: one query evaluates every rule's
    screen (its `pre`, or `bad` itself) as a boolean over all rows; only the
    rows some screen lets through (normally none) get the exact `bad` of the
    screened rules, and messages are built only for the rows that break a rule.
    Diagnostics come sorted by line, then by column (in frame order), then rule order.
    """
    names = [f"_rule{i}" for i in range(len(rules))]
    screens: list[pl.Expr] = []  # distinct screen expressions, evaluated once each
    screen_of: list[str] = []
    for rule in rules:
        expr = rule.bad if rule.pre is None else rule.pre
        for i, seen in enumerate(screens):
            if seen.meta.eq(expr):
                break
        else:
            i = len(screens)
            screens.append(expr)
        screen_of.append(f"_screen{i}")
    if not screens:
        return frame, frame.clear(), []
    screen_names = [f"_screen{i}" for i in range(len(screens))]
    # only the screens are computed over every row (the frame itself is not copied)
    screened = (
        frame.lazy()
        .select(*(expr.fill_null(False).alias(n) for n, expr in zip(screen_names, screens, strict=True)))
        .with_columns(_bad=pl.any_horizontal(screen_names))
        .collect()
    )
    if not screened["_bad"].any():
        return frame, frame.clear(), []
    flagged = pl.concat([frame, screened], how="horizontal")

    # the exact verdict of every rule, on the screened rows only (few: rechunking them is cheap
    # and keeps every column's chunks aligned for the string functions below)
    suspects = flagged.with_row_index("_row").filter("_bad").rechunk()
    suspects = suspects.with_columns(
        (pl.col(screen) if rule.pre is None else rule.bad.fill_null(False)).alias(n)
        for n, screen, rule in zip(names, screen_of, rules, strict=True)
    ).with_columns(_bad=pl.any_horizontal(names))
    bad = suspects.filter("_bad")
    mask = pl.repeat(False, frame.height, eager=True).scatter(bad["_row"], True).alias("_bad")
    broken = [i for i, n in enumerate(names) if bad[n].any()]
    context = [expr for i in broken for expr in rules[i].context]
    if context:
        bad = bad.with_columns(frame.select(context).filter(mask))
    bad = bad.rechunk()
    messages = [
        bad.select(
            pl.when(pl.col(names[i])).then(rules[i].message.cast(pl.String).fill_null(rules[i].code)).alias(names[i])
        ).to_series()
        for i in broken
    ]
    rule_table = pl.DataFrame(
        {
            "rule": names,
            "order": [(_position(frame, rule.column), i) for i, rule in enumerate(rules)],
            "column": [rule.column for rule in rules],
            "code": [rule.code for rule in rules],
        },
        schema={"rule": pl.String, "order": pl.List(pl.Int64), "column": pl.String, "code": pl.String},
    )
    found = (
        bad.select("line")
        .with_columns(messages)
        .unpivot(index="line", variable_name="rule", value_name="message")
        .drop_nulls("message")
        .join(rule_table, on="rule")
        .sort("line", "order")
    )
    diagnostics = [
        Diagnostic(file, line, column, code, message)
        for line, column, code, message in found.select("line", "column", "code", "message").rows()
    ]
    kept = frame.filter(~mask)
    rejected = bad.select(frame.columns)
    return kept, rejected, diagnostics


def _position(frame: pl.DataFrame, column: str | None) -> int:
    return frame.columns.index(column) if column in frame.columns else -1


def typed_rows(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast validated strings (and the `parsed_columns` columns) to the types of `comp_calc.data.model`."""
    exprs = []
    for column, kind in COLUMNS[name].items():
        v = pl.col(column)
        if kind in ("date", "optional_date", "month"):
            exprs.append(pl.col(_date_column(column)).alias(column))
        elif kind == "optional_currency":
            exprs.append(pl.when(v != "").then(v).alias(column))
        elif kind == "decimal":
            scale = frame[_decimals_column(column)].max() or 0
            # the text is validated (digits, at most `scale` decimals): the cast is exact
            exprs.append(v.cast(pl.Decimal(38, scale)).alias(column))
        elif kind == "int":
            exprs.append(pl.col(f"_int_{column}").alias(column))
        elif kind == "bool":
            exprs.append((v == "true").alias(column))
        elif kind == "optional_id":
            exprs.append(pl.when(v != "").then(v).alias(column))  # empty: null
        else:
            exprs.append(v)
    return frame.select(*exprs, pl.col("line").cast(pl.Int64))
