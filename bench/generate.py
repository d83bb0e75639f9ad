#!/usr/bin/env python3
"""Seeded generator of comp-calc input data: reps.csv, sales.csv, feedback.csv (nps, csat and
ces answers), contacts.csv, campaigns.csv (marketing's campaign calendar) and, with
--currencies, fx_rates.csv.

The output is valid input for the plans shipped in `plans/` (SPEC sections 1 and 3):
unique prefixed ids with leading zeros, every sale inside its seller's active dates,
every rep on a shipped plan, cancellations on or after the sale and inside the data
range, amounts with exactly 2 decimals, all dates between --start and the end of the
last month.

Everything is vectorised (numpy for the random draws, polars for strings and CSV
writing): 10 million sales take under a minute and about 2 GB of memory. Money is drawn
as integer cents and formatted with string operations: no amount ever passes through a
float format. Needs numpy besides the project's own dependencies (`pip install numpy`).

    python bench/generate.py --preset sample --out sample_data
    python bench/generate.py --out bench/data/big --seed 1 --reps 5000 --sales 10000000 \\
        --feedback 2000000 --contacts 4000000
    python bench/generate.py --out bench/data/s6 --seed 1 --currencies --managers

Two options add SPEC section 6 inputs (both on in the sample preset; `--no-currencies`,
`--no-managers` turn them off there). Each draws from its own random stream, so with both
off the files are byte for byte what they were before the options existed:
- `--currencies`: a UK inbound team (about a tenth of the inbound reps, at least three)
  on plan inbound-uk-2026, paid in GBP, whose sales and quotas are in GBP; about 2% of
  all sales in USD; a `currency` column in sales.csv; fx_rates.csv with every directed
  pair of EUR, GBP and USD for every month, each direction drawn on its own (6 decimals);
- `--managers`: a `manager_id` column in reps.csv: one team lead per team, to whom the
  team reports, and a head of sales (a new rep, after the others, on plan
  sales-leadership-2026, selling nothing) to whom the team leads report.

Planted patterns (for `comp-calc alignment`), whenever the groups are large enough:
- a mis-seller (inbound): many sales cancelled within 30 days;
- a box-ticking outbound rep: many short connected calls to customers who never buy;
- a high earner (inbound) with low CSAT and NPS.
Their rep ids are printed at the end of a run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

PRESETS: dict[str, dict[str, object]] = {
    "sample": {
        "seed": 20251101,
        "reps": 40,
        "sales": 4000,
        "feedback": 1500,
        "contacts": 2500,
        "start": "2025-11-01",
        "months": 12,
        "currencies": True,
        "managers": True,
    },
}
OPTIONS = ("currencies", "managers")  # off unless asked for (or set by the preset)
DEFAULTS = {**{k: v for k, v in PRESETS["sample"].items() if k not in OPTIONS}, **dict.fromkeys(OPTIONS, False)}

# The shipped monthly plans take effect on this day, so no rep may be active before it.
EARLIEST_START = date(2025, 11, 1)

# Products: median amount (EUR), lognormal spread, rounding step (cents), min and max (cents).
PRODUCTS: dict[str, tuple[float, float, int, int, int]] = {
    "mortgage": (200_000.0, 0.35, 100_000, 5_000_000, 90_000_000),
    "personal_loan": (12_000.0, 0.60, 10_000, 100_000, 7_500_000),
    "credit_card": (3_000.0, 0.50, 50_000, 50_000, 2_000_000),
    "overdraft": (1_500.0, 0.50, 10_000, 20_000, 1_000_000),
    "savings_account": (5_000.0, 1.00, 1, 5_000, 25_000_000),
    "home_insurance": (420.0, 0.35, 1, 12_000, 300_000),
}
PRODUCT_NAMES = list(PRODUCTS)


@dataclass(frozen=True)
class Group:
    """A kind of rep: the plan they are on and how they sell."""

    name: str
    plan: str
    share: float  # of all reps
    period_months: int  # length of the plan's pay period
    activity: float  # sales per active day, relative
    contact_weight: float  # contacts per active day, relative
    products: dict[str, float]
    channels: dict[str, float]  # voice, email, sms, visit
    team_names: tuple[str, ...]


GROUPS = (
    Group(
        name="inbound",
        plan="inbound-2026",
        share=0.60,
        period_months=1,
        activity=1.0,
        contact_weight=0.12,
        products={
            "mortgage": 0.005,  # the phone desk rarely arranges a mortgage
            "personal_loan": 0.19,
            "credit_card": 0.30,
            "overdraft": 0.13,
            "savings_account": 0.215,
            "home_insurance": 0.16,
        },
        channels={"voice": 0.20, "email": 0.50, "sms": 0.30, "visit": 0.0},
        team_names=("Inbound North", "Inbound South", "Inbound East", "Inbound West"),
    ),
    Group(
        name="outbound",
        plan="outbound-2026",
        share=0.25,
        period_months=1,
        activity=0.7,
        contact_weight=1.0,
        products={
            "credit_card": 0.30,
            "personal_loan": 0.25,
            "home_insurance": 0.25,
            "savings_account": 0.20,
        },
        channels={"voice": 0.55, "email": 0.20, "sms": 0.15, "visit": 0.10},
        team_names=("Outbound Retention", "Outbound Growth"),
    ),
    Group(
        name="branch",
        plan="branch-2026",
        share=0.15,
        period_months=3,  # quarterly quota
        activity=0.9,
        contact_weight=0.10,
        products={
            "mortgage": 0.10,
            "personal_loan": 0.25,
            "credit_card": 0.15,
            "savings_account": 0.35,
            "home_insurance": 0.15,
        },
        # branch staff only email and text: their contacts never take relationship credit
        channels={"voice": 0.0, "email": 0.60, "sms": 0.40, "visit": 0.0},
        team_names=("Branch Network",),
    ),
)
CHANNELS = ["voice", "email", "sms", "visit"]
CONNECT_RATE = np.array([0.60, 0.45, 0.35, 0.95])  # by channel, as CHANNELS

FIRST_NAMES = [
    "Ana", "Bruno", "Carla", "Daniel", "Elena", "Filipe", "Greta", "Hugo", "Ines", "Jonas",
    "Karin", "Luis", "Marta", "Nuno", "Olga", "Pedro", "Quentin", "Rita", "Sven", "Tania",
    "Ugo", "Vera", "Willem", "Xenia", "Yusuf", "Zoe", "Amir", "Bea", "Chloe", "Dario",
]
LAST_NAMES = [
    "Almeida", "Berger", "Costa", "Dubois", "Esposito", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jansen", "Keller", "Lopes", "Moreau", "Nowak", "Oliveira", "Peters", "Quinn", "Rossi",
    "Silva", "Torres", "Umar", "Vogel", "Weber", "Xavier", "Young", "Zimmer",
]

# Quotas: each rep's expected credited volume per period (their share of what their group
# sells, by productivity and active days) times a factor around 1, to two significant
# figures. Each month a group's movable sales are shared out so that every rep's credited
# volume is near a monthly target (their expected share times a factor around 1): most
# rep-periods land between 50% and 150% of quota whatever the data size.
QUOTA_SIGMA = 0.12  # lognormal spread of quotas around expected volume
MONTH_SIGMA = 0.25  # lognormal spread of a rep's monthly volume around their share
BIG_SALE = 1.0  # a sale above this share of its seller's monthly target stays with that seller
RELATIONSHIP_SHARE = 0.25  # inbound-2026 outbound_credit share, for follow-on sales

FOLLOW_ON_SHARE = 0.10  # of sales: a purchase after an outbound call or visit
FOLLOW_ON_WINDOW = 90  # days
CANCEL_RATE = 0.047
MIS_SELLER_CANCEL_RATE = 0.38


# ---------------------------------------------------------------- helpers


def ids(prefix: str, n: int, width: int) -> pl.Expr:
    """`prefix` + 1..n zero-padded to `width` digits, as an expression over `pl.int_range`."""
    return pl.lit(prefix) + (pl.int_range(1, n + 1, dtype=pl.Int64).cast(pl.String).str.zfill(width))


def code_to_text(codes: np.ndarray, names: list[str]) -> pl.Series:
    """Small-integer codes to their names, without a Python loop over rows."""
    return pl.Series(codes.astype(np.int64)).replace_strict(dict(enumerate(names)), return_dtype=pl.String)


def text_ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """`prefix` + each number zero-padded to `width` digits."""
    n = pl.Series(numbers.astype(np.int64))
    return pl.select(pl.lit(prefix) + n.cast(pl.String).str.zfill(width)).to_series()


def money(cents: np.ndarray) -> pl.Series:
    """Integer cents (> 0) to "123.45" strings, exactly."""
    c = pl.Series(cents.astype(np.int64))
    return pl.select(
        (c // 100).cast(pl.String) + pl.lit(".") + (c % 100).cast(pl.String).str.zfill(2)
    ).to_series()


def days_to_dates(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 to a polars Date series (nulls where days < 0)."""
    s = pl.Series(days.astype(np.int32))
    return pl.select(pl.when(s >= 0).then(s).otherwise(None).cast(pl.Date)).to_series()


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform integer day in [lo, hi] for each pair (hi >= lo)."""
    return lo + np.floor(rng.random(lo.shape[0]) * (hi - lo + 1)).astype(np.int64)


def draw_amounts(rng: np.random.Generator, product: np.ndarray) -> np.ndarray:
    """Amounts in integer cents, lognormal per product, rounded to the product's step."""
    median = np.array([PRODUCTS[p][0] * 100 for p in PRODUCT_NAMES])[product]
    sigma = np.array([PRODUCTS[p][1] for p in PRODUCT_NAMES])[product]
    step = np.array([PRODUCTS[p][2] for p in PRODUCT_NAMES], dtype=np.int64)[product]
    lo = np.array([PRODUCTS[p][3] for p in PRODUCT_NAMES], dtype=np.int64)[product]
    hi = np.array([PRODUCTS[p][4] for p in PRODUCT_NAMES], dtype=np.int64)[product]
    raw = median * np.exp(sigma * rng.standard_normal(product.shape[0]))
    cents = np.rint(raw / step).astype(np.int64) * step
    return np.clip(cents, lo, hi)


def pick_by_group(rng: np.random.Generator, group: np.ndarray, table: list[np.ndarray]) -> np.ndarray:
    """For each row, a category index drawn from the probability vector of its group."""
    out = np.zeros(group.shape[0], dtype=np.int64)
    for g, probs in enumerate(table):  # a few groups
        mask = group == g
        k = int(mask.sum())
        if k:
            out[mask] = rng.choice(len(probs), size=k, p=probs)
    return out


# ---------------------------------------------------------------- reps


@dataclass
class Reps:
    n: int
    group: np.ndarray  # index into GROUPS
    start: np.ndarray  # day numbers
    end: np.ndarray  # day numbers; last data day for open-ended reps
    left: np.ndarray  # bool: has an end_date
    weight: np.ndarray  # sales productivity
    quota_factor: np.ndarray  # quota / expected credited volume per period
    frame: pl.DataFrame
    mis_seller: int | None
    box_ticker: int | None
    low_csat: int | None


def make_reps(rng: np.random.Generator, n: int, month_starts: np.ndarray) -> Reps:
    months = month_starts.shape[0] - 1
    first_day, last_day = int(month_starts[0]), int(month_starts[-1]) - 1

    counts = [round(g.share * n) for g in GROUPS]
    counts[1] = n - counts[0] - counts[2]  # outbound takes the rounding
    group = np.repeat(np.arange(len(GROUPS)), counts)

    # teams of about ten within each group
    team = np.empty(n, dtype=object)
    for g, grp in enumerate(GROUPS):
        idx = np.flatnonzero(group == g)
        k = idx.shape[0]
        if not k:
            continue
        n_teams = max(1, math.ceil(k / 10))
        names = (
            np.array(grp.team_names[:n_teams], dtype=object)
            if n_teams <= len(grp.team_names)
            else np.array([f"{grp.name.capitalize()} {t + 1:02d}" for t in range(n_teams)], dtype=object)
        )
        team[idx] = names[np.arange(k) * n_teams // k]

    start = np.full(n, first_day, dtype=np.int64)
    end = np.full(n, last_day, dtype=np.int64)
    left = np.zeros(n, dtype=bool)
    # in every group a few reps join on the 10th of a later month and a few leave on the 20th
    joiners, leavers = [], []
    if months >= 4:
        for g in range(len(GROUPS)):
            idx = rng.permutation(np.flatnonzero(group == g))
            k = max(1, round(0.06 * idx.shape[0])) if idx.shape[0] >= 5 else 0
            joiners.append(idx[:k])
            leavers.append(idx[k : 2 * k])
    joiners = np.concatenate(joiners) if joiners else np.zeros(0, dtype=np.int64)
    leavers = np.concatenate(leavers) if leavers else np.zeros(0, dtype=np.int64)
    start[joiners] = month_starts[rng.integers(1, months - 1, size=joiners.shape[0])] + 9
    end[leavers] = month_starts[rng.integers(1, months, size=leavers.shape[0])] + 19
    left[leavers] = True
    stayers = np.setdiff1d(np.arange(n), np.concatenate([joiners, leavers]))

    weight = np.exp(0.3 * rng.standard_normal(n)) * np.array([g.activity for g in GROUPS])[group]

    # planted reps come from the full-year reps
    stayers_sorted = np.sort(stayers)
    inbound_stay = stayers_sorted[group[stayers_sorted] == 0]
    outbound_stay = stayers_sorted[group[stayers_sorted] == 1]
    mis_seller = low_csat = box_ticker = None
    if inbound_stay.shape[0] >= 4:
        mis_seller, low_csat = (int(x) for x in rng.choice(inbound_stay, size=2, replace=False))
        weight[mis_seller] *= 1.4
        weight[low_csat] *= 3.0
    if outbound_stay.shape[0] >= 3:
        box_ticker = int(rng.choice(outbound_stay))

    # quota factor per rep (the quota itself is set from the sales, in `set_quotas`): drawn
    # around 1, so most reps land near quota; the planted reps get the quota of a typical rep
    quota_factor = np.exp(QUOTA_SIGMA * rng.standard_normal(n))
    if low_csat is not None:
        quota_factor[low_csat] = 0.5  # a star seller's quota: 1.5 typical quotas for 3 times the sales
    if mis_seller is not None:
        quota_factor[mis_seller] = 1 / 1.4  # a typical quota, beaten by pushing products

    # rep ids follow hiring order: full-year reps first (in random order), then by start day
    by_hire = np.lexsort((rng.permutation(n), start))
    rep_no = np.empty(n, dtype=np.int64)
    rep_no[by_hire] = np.arange(1, n + 1)

    width = max(4, len(str(n)))
    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    frame = pl.DataFrame(
        {
            "rep_id": text_ids("R", rep_no, width),
            "name": pl.Series(first, dtype=pl.String) + " " + pl.Series(last, dtype=pl.String),
            "team": pl.Series(team, dtype=pl.String),
            "plan": code_to_text(group, [g.plan for g in GROUPS]),
            "start_date": days_to_dates(start),
            "end_date": days_to_dates(np.where(left, end, -1)),
            "_no": rep_no,
        }
    )
    return Reps(n, group, start, end, left, weight, quota_factor, frame, mis_seller, box_ticker, low_csat)


# ---------------------------------------------------------------- contacts


def make_contacts(
    rng: np.random.Generator, reps: Reps, n: int, n_active_customers: int, n_dormant: int
) -> dict[str, np.ndarray]:
    active_days = reps.end - reps.start + 1
    w = np.array([g.contact_weight for g in GROUPS])[reps.group] * active_days
    if reps.box_ticker is not None:
        w[reps.box_ticker] *= 4.0
    rep = rng.choice(reps.n, size=n, p=w / w.sum())
    day = uniform_days(rng, reps.start[rep], reps.end[rep])
    probs = [np.array([g.channels[c] for c in CHANNELS]) for g in GROUPS]
    channel = pick_by_group(rng, reps.group[rep], probs)
    connected = rng.random(n) < CONNECT_RATE[channel]
    customer = rng.integers(0, n_active_customers, size=n)
    if reps.box_ticker is not None:
        bt = rep == reps.box_ticker
        k = int(bt.sum())
        # quick calls that "connect", to dormant low-value customers
        channel[bt] = rng.choice(len(CHANNELS), size=k, p=[0.92, 0.04, 0.04, 0.0])
        connected[bt] = rng.random(k) < np.where(channel[bt] == 0, 0.97, 0.5)
        customer[bt] = n_active_customers + rng.integers(0, n_dormant, size=k)
    return {"rep": rep, "day": day, "channel": channel, "connected": connected, "customer": customer}


# ---------------------------------------------------------------- sales


def active_pick(
    rng: np.random.Generator, reps: Reps, day: np.ndarray, allowed: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """For each day, a rep from `allowed` active on it (weighted); -1 where none was found."""
    p = weight[allowed] / weight[allowed].sum()
    out = np.full(day.shape[0], -1, dtype=np.int64)
    todo = np.arange(day.shape[0])
    for _ in range(12):  # a few vectorised retries
        if not todo.shape[0]:
            break
        cand = allowed[rng.choice(allowed.shape[0], size=todo.shape[0], p=p)]
        ok = (reps.start[cand] <= day[todo]) & (day[todo] <= reps.end[cand])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return out


def make_sales(
    rng: np.random.Generator,
    reps: Reps,
    contacts: dict[str, np.ndarray],
    n: int,
    n_active_customers: int,
    month_starts: np.ndarray,
) -> dict[str, np.ndarray]:
    last_day = int(month_starts[-1]) - 1
    # 1. follow-on purchases: a customer called or visited (and reached) by an outbound rep
    #    buys within 90 days, mostly from an inbound rep, some in a branch
    qualifying = (
        (reps.group[contacts["rep"]] == 1)
        & contacts["connected"]
        & np.isin(contacts["channel"], [0, 3])
    )
    if reps.box_ticker is not None:
        qualifying &= contacts["rep"] != reps.box_ticker
    cand = np.flatnonzero(qualifying)
    n_follow = min(round(FOLLOW_ON_SHARE * n), n) if cand.shape[0] else 0
    src = cand[rng.choice(cand.shape[0], size=n_follow)] if n_follow else np.zeros(0, dtype=np.int64)
    c_day = contacts["day"][src]
    f_day = uniform_days(rng, c_day, np.minimum(c_day + FOLLOW_ON_WINDOW, last_day))
    to_branch = rng.random(n_follow) < 0.12
    f_rep = np.full(n_follow, -1, dtype=np.int64)
    for g, mask in ((0, ~to_branch), (2, to_branch)):
        allowed = np.flatnonzero(reps.group == g)
        if allowed.shape[0] and mask.any():
            f_rep[mask] = active_pick(rng, reps, f_day[mask], allowed, reps.weight)
    keep = f_rep >= 0
    f_rep, f_day, f_cust = f_rep[keep], f_day[keep], contacts["customer"][src][keep]
    f_contact_rep = contacts["rep"][src][keep]

    # 2. everyday sales: a rep (weighted by productivity and active days), a day when active
    n_base = n - f_rep.shape[0]
    w = reps.weight * (reps.end - reps.start + 1)
    b_rep = rng.choice(reps.n, size=n_base, p=w / w.sum())
    b_day = uniform_days(rng, reps.start[b_rep], reps.end[b_rep])
    b_cust = rng.integers(0, n_active_customers, size=n_base)

    rep = np.concatenate([b_rep, f_rep])
    day = np.concatenate([b_day, f_day])
    customer = np.concatenate([b_cust, f_cust])

    probs = [np.array([g.products.get(p, 0.0) for p in PRODUCT_NAMES]) for g in GROUPS]
    product = pick_by_group(rng, reps.group[rep], probs)
    amount = draw_amounts(rng, product)

    # 3. everyday sales move between reps of the same group and month so that each rep's
    #    credited volume is near a monthly target; follow-on sales stay where they are and
    #    give the outbound rep who made the contact a share (inbound sellers only)
    movable = np.arange(rep.shape[0]) < n_base
    rel_rep = np.concatenate([np.full(n_base, -1, dtype=np.int64),
                              np.where(reps.group[f_rep] == 0, f_contact_rep, -1)])
    rel_share = np.where(rel_rep >= 0, RELATIONSHIP_SHARE, 0.0)
    rep, day = level_volumes(rng, reps, month_starts, rep, day, amount, movable, rel_rep, rel_share)
    reps.frame = set_quotas(reps, month_starts, rep, amount, rel_rep, rel_share)

    # 4. cancellations: mostly late (after the cooling-off month); the mis-seller's come fast
    m = rep.shape[0]
    mis = rep == reps.mis_seller if reps.mis_seller is not None else np.zeros(m, dtype=bool)
    cancelled = rng.random(m) < np.where(mis, MIS_SELLER_CANCEL_RATE, CANCEL_RATE)
    bucket = rng.random(m)
    u = rng.random(m)
    delay_normal = np.where(
        bucket < 0.35,
        np.floor(u * 31),
        np.where(bucket < 0.75, 31 + np.floor(u * 60), 91 + np.floor(u * 150)),
    )
    delay_mis = np.where(bucket < 0.85, 1 + np.floor(u * 28), 31 + np.floor(u * 60))
    cancel_day = day + np.where(mis, delay_mis, delay_normal).astype(np.int64)
    cancelled &= cancel_day <= last_day  # data ends before the cancellation: not cancelled
    cancel_day = np.where(cancelled, cancel_day, -1)

    # ids in booking order: by day, ties in random order
    order = np.lexsort((rng.random(m), day))
    return {
        "rep": rep[order],
        "day": day[order],
        "customer": customer[order],
        "product": product[order],
        "amount": amount[order],
        "cancel_day": cancel_day[order],
    }


def active_days_by_month(reps: Reps, month_starts: np.ndarray) -> np.ndarray:
    """Days each rep is active in each month, as a (reps, months) array."""
    lo = np.maximum(reps.start[:, None], month_starts[None, :-1])
    hi = np.minimum(reps.end[:, None], month_starts[None, 1:] - 1)
    return np.maximum(hi - lo + 1, 0)


def level_volumes(
    rng: np.random.Generator,
    reps: Reps,
    month_starts: np.ndarray,
    rep: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    movable: np.ndarray,
    rel_rep: np.ndarray,
    rel_share: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """New seller and day of each movable sale: within each group and month, the sales are
    handed out largest first to the active rep with the most of their monthly target left.
    Targets (float, statistics only) are the
    group's credited volume in the month shared by productivity x active days x a lognormal
    factor; volume that cannot move (follow-on sales, relationship credit, sales too big for
    their seller's target) counts first. Loops over groups, months and rounds, not sales."""
    months = month_starts.shape[0] - 1
    active = active_days_by_month(reps, month_starts)
    noise = np.exp(MONTH_SIGMA * rng.standard_normal(active.shape))
    month = np.searchsorted(month_starts, day, side="right") - 1
    amt = amount.astype(np.float64)
    fixed = np.zeros(active.shape)
    stay = ~movable
    np.add.at(fixed, (rep[stay], month[stay]), amt[stay] * (1 - rel_share[stay]))
    has_rel = rel_rep >= 0
    np.add.at(fixed, (rel_rep[has_rel], month[has_rel]), amt[has_rel] * rel_share[has_rel])

    new_rep, new_day = rep.copy(), day.copy()
    cell = np.where(movable, reps.group[rep] * months + month, -1)
    by_cell = np.argsort(cell, kind="stable")
    edges = np.searchsorted(cell[by_cell], np.arange(len(GROUPS) * months + 1))
    for g in range(len(GROUPS)):
        members = np.flatnonzero(reps.group == g)
        for m in range(months):
            sel = by_cell[edges[g * months + m] : edges[g * months + m + 1]]
            act = members[active[members, m] > 0]
            if not sel.shape[0] or not act.shape[0]:
                continue
            weight = reps.weight[act] * active[act, m] * noise[act, m]
            target = np.zeros(reps.n)
            target[act] = (amt[sel].sum() + fixed[members, m].sum()) * weight / weight.sum()
            big = amt[sel] > BIG_SALE * target[rep[sel]]
            kept = fixed[:, m].copy()
            np.add.at(kept, rep[sel[big]], amt[sel[big]])
            room = np.maximum(target[act] - kept[act], 0.0)
            small = sel[~big]
            if not small.shape[0] or room.sum() <= 0:
                continue
            # largest sale first, each to the rep with the most room left (rounds of one sale
            # per open rep), so every rep ends within about one sale of their target
            order = small[np.lexsort((rng.random(small.shape[0]), -amt[small]))]
            left_over = room / room.sum() * amt[small].sum()
            who = np.empty(order.shape[0], dtype=np.int64)
            done = 0
            while done < order.shape[0]:  # about as many rounds as sales per rep
                open_ = np.flatnonzero(left_over > 0)
                if not open_.shape[0]:
                    open_ = np.arange(act.shape[0])
                take = min(open_.shape[0], order.shape[0] - done)
                ranked = open_[np.argsort(-left_over[open_], kind="stable")[:take]]
                who[done : done + take] = ranked
                left_over[ranked] -= amt[order[done : done + take]]
                done += take
            who = act[who]
            new_rep[order] = who
            lo = np.maximum(reps.start[who], month_starts[m])
            hi = np.minimum(reps.end[who], month_starts[m + 1] - 1)
            new_day[order] = uniform_days(rng, lo, hi)
    return new_rep, new_day


def round_quota(eur: np.ndarray) -> np.ndarray:
    """Quotas in whole euros to two significant figures (at least EUR 1,000), as integer cents."""
    digits = np.floor(np.log10(np.maximum(eur, 1.0)))
    step = np.maximum(10.0 ** (digits - 1), 1000.0)
    return (np.maximum(np.rint(eur / step), 1) * step).astype(np.int64) * 100


def set_quotas(
    reps: Reps, month_starts: np.ndarray, rep: np.ndarray, amount: np.ndarray,
    rel_rep: np.ndarray, rel_share: np.ndarray,
) -> pl.DataFrame:
    """The reps frame with quotas: each rep's expected credited volume per pay period (the
    group's credited volume per productivity-weighted active day x the rep's productivity x
    the period's average length) times the rep's quota factor."""
    amt = amount.astype(np.float64)
    credited = np.zeros(reps.n)
    np.add.at(credited, rep, amt * (1 - rel_share))
    has_rel = rel_rep >= 0
    np.add.at(credited, rel_rep[has_rel], amt[has_rel] * rel_share[has_rel])
    rep_days = reps.weight * active_days_by_month(reps, month_starts).sum(axis=1)
    per_day = np.zeros(len(GROUPS))
    for g in range(len(GROUPS)):  # three groups
        mask = reps.group == g
        per_day[g] = credited[mask].sum() / max(rep_days[mask].sum(), 1e-9)
    days = (month_starts[-1] - month_starts[0]) / (month_starts.shape[0] - 1)
    period_days = days * np.array([g.period_months for g in GROUPS])[reps.group]
    quota_eur = per_day[reps.group] * reps.weight * period_days * reps.quota_factor / 100
    frame = reps.frame.with_columns(quota=money(round_quota(quota_eur)))
    return frame.select("rep_id", "name", "team", "plan", "quota", "start_date", "end_date", "_no")


# ---------------------------------------------------------------- feedback


def make_feedback(
    rng: np.random.Generator,
    reps: Reps,
    sales: dict[str, np.ndarray],
    contacts: dict[str, np.ndarray],
    n: int,
    last_day: int,
) -> dict[str, np.ndarray]:
    # most surveys follow a sale (to the seller), some follow a reached outbound contact
    reached = np.flatnonzero((reps.group[contacts["rep"]] == 1) & contacts["connected"])
    n_contact = round(0.2 * n) if reached.shape[0] else 0
    n_sale = n - n_contact
    s = rng.integers(0, sales["rep"].shape[0], size=n_sale)
    c = reached[rng.integers(0, reached.shape[0], size=n_contact)] if n_contact else np.zeros(0, dtype=np.int64)
    rep = np.concatenate([sales["rep"][s], contacts["rep"][c]])
    customer = np.concatenate([sales["customer"][s], contacts["customer"][c]])
    after = np.concatenate([sales["day"][s], contacts["day"][c]])
    day = uniform_days(rng, after, np.minimum(after + 30, last_day))

    # each rep has a typical satisfaction; the planted reps sit well below it
    nps_mean = 7.9 + 0.4 * rng.standard_normal(reps.n)
    csat_mean = 4.15 + 0.2 * rng.standard_normal(reps.n)
    if reps.low_csat is not None:
        nps_mean[reps.low_csat], csat_mean[reps.low_csat] = 4.6, 2.5
    if reps.mis_seller is not None:
        nps_mean[reps.mis_seller], csat_mean[reps.mis_seller] = 6.6, 3.6
    is_nps = rng.random(n) < 0.5
    z = rng.standard_normal(n)
    score = np.where(
        is_nps,
        np.clip(np.rint(nps_mean[rep] + 1.8 * z), 0, 10),
        np.clip(np.rint(csat_mean[rep] + 0.8 * z), 1, 5),
    ).astype(np.int64)
    order = np.lexsort((rng.random(n), day))
    return {
        "rep": rep[order],
        "customer": customer[order],
        "day": day[order],
        "survey": np.where(is_nps, 0, 1)[order],
        "score": score[order],
    }


CES_SHARE = 0.2  # of the feedback rows, asked the customer-effort question instead


def ask_ces(rng: np.random.Generator, reps: Reps, feedback: dict[str, np.ndarray]) -> None:
    """Turn a share of the answers into customer-effort (ces, 1..7) answers, in place.

    Drawn from their own random stream, so every other row stays as it was; each rep has a
    typical ease, the planted reps are harder to deal with."""
    n = feedback["rep"].shape[0]
    ces_mean = 5.6 + 0.4 * rng.standard_normal(reps.n)
    if reps.low_csat is not None:
        ces_mean[reps.low_csat] = 3.6
    if reps.mis_seller is not None:
        ces_mean[reps.mis_seller] = 4.6
    ces = rng.random(n) < CES_SHARE
    score = np.clip(np.rint(ces_mean[feedback["rep"]] + 1.1 * rng.standard_normal(n)), 1, 7).astype(np.int64)
    feedback["survey"] = np.where(ces, 2, feedback["survey"])
    feedback["score"] = np.where(ces, score, feedback["score"])


# Marketing's campaign calendar: (campaign_id, product, month of the data (0 = first),
# first day in that month, length in days). A campaign is written only when it fits in the data.
CAMPAIGNS = [
    ("spring-cards", "credit_card", 4, 1, 31),
    ("home-week", "home_insurance", 7, 8, 7),
    ("savings-drive", "savings_account", 10, 15, 31),
]


def make_campaigns(month_starts: np.ndarray) -> pl.DataFrame:
    last_day = int(month_starts[-1]) - 1
    rows = []
    for campaign_id, product, month, first, days in CAMPAIGNS:
        if month >= month_starts.shape[0] - 1:
            continue
        start = int(month_starts[month]) + first - 1
        rows.append((campaign_id, product, start, min(start + days - 1, last_day)))
    columns = list(zip(*rows)) if rows else [[], [], [], []]
    return pl.DataFrame(
        {
            "campaign_id": pl.Series(columns[0], dtype=pl.String),
            "product": pl.Series(columns[1], dtype=pl.String),
            "starts_on": days_to_dates(np.array(columns[2], dtype=np.int64)),
            "ends_on": days_to_dates(np.array(columns[3], dtype=np.int64)),
        }
    )


# ---------------------------------------------------------------- --currencies: a UK team, USD sales, rates

UK_PLAN = "inbound-uk-2026"
UK_TEAM = "Inbound UK"
UK_SHARE = 0.10  # of the inbound reps
UK_MIN = 3
USD_SHARE = 0.02  # of all sales
CURRENCIES = ["EUR", "GBP", "USD"]
# About what one EUR buys, to size amounts, quotas and rates (statistics only: a run prices
# with fx_rates.csv); the monthly rates wander around these.
EUR_IN = {"GBP": 0.86, "USD": 1.08}
FX_DRIFT = {"GBP": 0.010, "USD": 0.015}  # monthly lognormal step of the EUR rate
FX_SPREAD = 0.001  # each direction's own lognormal deviation from the mid rate


def add_currencies(
    rng: np.random.Generator, reps: Reps, sales: dict[str, np.ndarray], month_starts: np.ndarray
) -> tuple[np.ndarray, pl.DataFrame]:
    """Move a UK team to the GBP plan (its quotas and sales in GBP), put a few sales in USD; the
    currency code of each sale (index into CURRENCIES) and the monthly rates. The UK team is
    drawn from the inbound reps who work the whole data range; the planted reps stay where they are."""
    planted = [i for i in (reps.mis_seller, reps.low_csat, reps.box_ticker) if i is not None]
    full_year = (reps.start == month_starts[0]) & ~reps.left
    candidates = np.setdiff1d(np.flatnonzero((reps.group == 0) & full_year), planted)
    k = min(max(UK_MIN, round(UK_SHARE * int((reps.group == 0).sum()))), candidates.shape[0] // 2)
    uk = np.sort(rng.choice(candidates, size=k, replace=False))
    is_uk = np.zeros(reps.n, dtype=bool)
    is_uk[uk] = True

    quota_cents = reps.frame["quota"].str.replace(".", "", literal=True).cast(pl.Int64).to_numpy()
    gbp_quota = round_quota(quota_cents / 100 * EUR_IN["GBP"])
    mask = pl.Series(is_uk)
    reps.frame = reps.frame.with_columns(
        team=pl.when(mask).then(pl.lit(UK_TEAM)).otherwise(pl.col("team")),
        plan=pl.when(mask).then(pl.lit(UK_PLAN)).otherwise(pl.col("plan")),
        quota=pl.when(mask).then(money(gbp_quota)).otherwise(pl.col("quota")),
    )

    m = sales["rep"].shape[0]
    currency = np.where(rng.random(m) < USD_SHARE, 2, np.where(is_uk[sales["rep"]], 1, 0))
    step = np.array([PRODUCTS[p][2] for p in PRODUCT_NAMES], dtype=np.int64)[sales["product"]]
    factor = np.array([1.0, EUR_IN["GBP"], EUR_IN["USD"]])[currency]
    converted = np.maximum(np.rint(sales["amount"] * factor / step).astype(np.int64), 1) * step
    sales["amount"] = np.where(currency == 0, sales["amount"], converted)
    return currency, fx_rates(rng, month_starts)


def fx_rates(rng: np.random.Generator, month_starts: np.ndarray) -> pl.DataFrame:
    """Every directed pair of CURRENCIES for every month: a mid rate per month (EUR->GBP and
    EUR->USD wander month by month), each direction then drawn on its own around it, so a
    rate is never the exact inverse of the other direction. Rates in millionths, exactly."""
    months = month_starts.shape[0] - 1
    mid = {"EUR": np.ones(months)}
    for cur in ("GBP", "USD"):
        mid[cur] = EUR_IN[cur] * np.exp(np.cumsum(FX_DRIFT[cur] * rng.standard_normal(months)))
    pairs = [(a, b) for a in CURRENCIES for b in CURRENCIES if a != b]
    micro = np.concatenate(
        [np.rint(1e6 * mid[b] / mid[a] * np.exp(FX_SPREAD * rng.standard_normal(months))).astype(np.int64) for a, b in pairs]
    )
    month = pl.Series(month_starts[:-1].astype(np.int32)).cast(pl.Date).dt.strftime("%Y-%m")
    c = pl.Series(micro)
    return pl.DataFrame(
        {
            "currency": [a for a, _ in pairs for _ in range(months)],
            "to": [b for _, b in pairs for _ in range(months)],
            "month": pl.concat([month] * len(pairs)),
            "rate": pl.select(
                (c // 1_000_000).cast(pl.String) + pl.lit(".") + (c % 1_000_000).cast(pl.String).str.zfill(6)
            ).to_series(),
        }
    )


# ---------------------------------------------------------------- --managers: team leads and a head of sales

LEADERSHIP_PLAN = "sales-leadership-2026"
LEADERSHIP_TEAM = "Sales Leadership"


def add_managers(rng: np.random.Generator, reps: Reps) -> dict[str, object]:
    """A `manager_id` column: per team a lead (a full-year rep, not a planted one) to whom the
    team reports, and a head of sales, a new rep numbered after the others, to whom the leads
    report. Returns the ids chosen."""
    planted = {i for i in (reps.mis_seller, reps.low_csat, reps.box_ticker) if i is not None}
    full_year = (reps.start == reps.start.min()) & ~reps.left
    teams = reps.frame["team"].to_numpy()
    lead_of = {}
    for name in sorted(set(teams)):  # a handful of teams
        members = np.flatnonzero(teams == name)
        choices = [i for i in members if full_year[i] and i not in planted] or list(members)
        lead_of[name] = int(rng.choice(choices))
    rep_ids = reps.frame["rep_id"].to_numpy()
    head_no = reps.n + 1
    head_id = str(text_ids("R", np.array([head_no]), max(4, len(str(reps.n))))[0])
    leads = np.array([lead_of[t] for t in teams])
    is_lead = leads == np.arange(reps.n)
    manager = np.where(is_lead, head_id, rep_ids[leads])
    head = pl.DataFrame(
        {
            "rep_id": [head_id],
            "name": [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"],
            "team": [LEADERSHIP_TEAM],
            "plan": [LEADERSHIP_PLAN],
            "quota": ["0.00"],  # the head sells nothing: no quota, attainment is not computed
            "start_date": days_to_dates(reps.start.min(keepdims=True)),
            "end_date": days_to_dates(np.array([-1])),
            "_no": [head_no],
            "manager_id": pl.Series([None], dtype=pl.String),
        }
    )
    reps.frame = pl.concat(
        [reps.frame.with_columns(manager_id=pl.Series(manager, dtype=pl.String)), head.cast(reps.frame.schema | {"manager_id": pl.String})]
    )
    return {"head_of_sales": head_id, "team_leads": ", ".join(sorted(str(rep_ids[i]) for i in lead_of.values()))}


# ---------------------------------------------------------------- main


def month_starts_from(start: date, months: int) -> np.ndarray:
    first = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
    return (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64)


def generate(out: Path, seed: int, n_reps: int, n_sales: int, n_feedback: int, n_contacts: int,
             start: date, months: int, currencies: bool = False, managers: bool = False) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    month_starts = month_starts_from(start, months)
    last_day = int(month_starts[-1]) - 1

    n_active_customers = max(100, int(0.55 * n_sales))
    n_dormant = max(50, n_contacts // 10)
    cust_width = max(7, len(str(n_active_customers + n_dormant)))

    reps = make_reps(rng, n_reps, month_starts)
    contacts = make_contacts(rng, reps, n_contacts, n_active_customers, n_dormant)
    sales = make_sales(rng, reps, contacts, n_sales, n_active_customers, month_starts)
    feedback = make_feedback(rng, reps, sales, contacts, n_feedback, last_day)
    ask_ces(np.random.default_rng([seed, 2]), reps, feedback)
    c_order = np.lexsort((rng.random(n_contacts), contacts["day"]))
    contacts = {k: v[c_order] for k, v in contacts.items()}
    # the options come last, each from its own stream: without them nothing above changes
    sale_currency = rates = None
    if currencies:
        sale_currency, rates = add_currencies(np.random.default_rng([seed, 3]), reps, sales, month_starts)
    chosen = add_managers(np.random.default_rng([seed, 4]), reps) if managers else {}

    rep_ids = reps.frame["rep_id"].to_numpy()
    out.mkdir(parents=True, exist_ok=True)

    def rep_col(idx: np.ndarray) -> pl.Series:
        return pl.Series(rep_ids[idx], dtype=pl.String)

    reps.frame.sort("_no").drop("_no").write_csv(out / "reps.csv", date_format="%Y-%m-%d")
    m = sales["rep"].shape[0]
    pl.DataFrame(
        {
            "sale_id": pl.select(ids("S", m, max(7, len(str(m))))).to_series(),
            "rep_id": rep_col(sales["rep"]),
            "customer_id": text_ids("C", sales["customer"] + 1, cust_width),
            "product": code_to_text(sales["product"], PRODUCT_NAMES),
            "amount": money(sales["amount"]),
            "sold_on": days_to_dates(sales["day"]),
            "cancelled_on": days_to_dates(sales["cancel_day"]),
            **({"currency": code_to_text(sale_currency, CURRENCIES)} if currencies else {}),
        }
    ).write_csv(out / "sales.csv", date_format="%Y-%m-%d")
    if rates is not None:
        rates.write_csv(out / "fx_rates.csv")
    pl.DataFrame(
        {
            "response_id": pl.select(ids("FB", n_feedback, max(7, len(str(n_feedback))))).to_series(),
            "rep_id": rep_col(feedback["rep"]),
            "customer_id": text_ids("C", feedback["customer"] + 1, cust_width),
            "responded_on": days_to_dates(feedback["day"]),
            "survey": code_to_text(feedback["survey"], ["nps", "csat", "ces"]),
            "score": feedback["score"],
        }
    ).write_csv(out / "feedback.csv", date_format="%Y-%m-%d")
    pl.DataFrame(
        {
            "contact_id": pl.select(ids("CT", n_contacts, max(7, len(str(n_contacts))))).to_series(),
            "rep_id": rep_col(contacts["rep"]),
            "customer_id": text_ids("C", contacts["customer"] + 1, cust_width),
            "contacted_on": days_to_dates(contacts["day"]),
            "channel": code_to_text(contacts["channel"], CHANNELS),
            "connected": pl.Series(contacts["connected"], dtype=pl.Boolean),
        }
    ).write_csv(out / "contacts.csv", date_format="%Y-%m-%d")
    make_campaigns(month_starts).write_csv(out / "campaigns.csv", date_format="%Y-%m-%d")

    def rid(i: int | None) -> str | None:
        return None if i is None else str(rep_ids[i])

    summary = {
        "reps": reps.frame.height,
        "sales": m,
        "cancelled": int((sales["cancel_day"] >= 0).sum()),
        "feedback": n_feedback,
        "contacts": n_contacts,
        "mis_seller": rid(reps.mis_seller),
        "box_ticker": rid(reps.box_ticker),
        "low_csat_high_pay": rid(reps.low_csat),
    }
    if currencies:
        on_uk = reps.frame.filter(pl.col("plan") == UK_PLAN)["rep_id"].sort()
        summary["uk_team_gbp"] = ", ".join(on_uk)
        summary["sales_by_currency"] = ", ".join(f"{c} {int((sale_currency == i).sum())}" for i, c in enumerate(CURRENCIES))
    return summary | chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Generate seeded, valid comp-calc input CSVs.")
    ap.add_argument("--out", required=True, type=Path, help="output directory (created)")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="named settings; explicit options override them")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--reps", type=int)
    ap.add_argument("--sales", type=int)
    ap.add_argument("--feedback", type=int)
    ap.add_argument("--contacts", type=int)
    ap.add_argument("--start", help="first day of the data, the first of a month (YYYY-MM-DD)")
    ap.add_argument("--months", type=int, help="number of months of data")
    ap.add_argument("--currencies", action=argparse.BooleanOptionalAction,
                    help="a UK team paid in GBP, some sales in USD, fx_rates.csv (on in the sample preset)")
    ap.add_argument("--managers", action=argparse.BooleanOptionalAction,
                    help="manager_id: team leads and a head of sales (on in the sample preset)")
    args = ap.parse_args(argv)
    base = {**DEFAULTS, **PRESETS[args.preset]} if args.preset else DEFAULTS
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    try:
        args.start = date.fromisoformat(str(args.start))
    except ValueError:
        ap.error(f"--start {args.start!r} is not a YYYY-MM-DD date")
    if args.start.day != 1:
        ap.error("--start must be the first day of a month")
    if args.start < EARLIEST_START:
        ap.error(f"--start must be on or after {EARLIEST_START}: the shipped plans take effect then")
    if args.months < 1:
        ap.error("--months must be at least 1")
    if args.reps < 6:
        ap.error("--reps must be at least 6 (reps of every plan)")
    if args.sales < 1 or args.feedback < 0 or args.contacts < 0:
        ap.error("--sales must be >= 1, --feedback and --contacts >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    summary = generate(args.out, args.seed, args.reps, args.sales, args.feedback, args.contacts,
                       args.start, args.months, args.currencies, args.managers)
    elapsed = time.perf_counter() - t0
    for key, value in summary.items():
        print(f"{key:>18}: {value}")
    print(f"{'written to':>18}: {args.out} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
