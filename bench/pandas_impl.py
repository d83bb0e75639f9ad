#!/usr/bin/env python3
"""The bench plan computed with pandas: the baseline a finance engineer would otherwise write.

An independent implementation of SPEC section 3 (credit, attainment, rate, quality,
cap, clawback, balance) for MONTHLY plans, used by `bench/run.py` to time comp-calc
against, and to cross-check it: the totals must agree to the cent.

Exactness is kept the way a careful pandas user would keep it: every amount is an
integer count of small units (cents for money, 1/10^k for shares, rates and
multipliers, with k taken from the plans), so pandas/numpy int64 arithmetic is
exact. The one inexact operation, the division by a period's day count that
quota proration needs, is avoided as comp-calc avoids it: running credit and band
edges are kept times D (days in the period), and each line's commission is
divided by D only once, by an integer division with explicit half-up / half-even
rounding. Products that could leave int64 are checked and fall back to Python
integers (object columns), which is slower but exact.

No input validation: the input is assumed valid (run `comp-calc validate` for that).
Loops run over months, plan versions, tiers and bands, never over data rows.

    python bench/pandas_impl.py --plans bench/plan --data bench/data/small --period 2026-10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

INT64_SAFE = 2**62  # margin below 2**63 for sums of a few products
OPEN = np.int64(2**62)  # an open band edge


# ------------------------------------------------------------------ small exact helpers


def decimals(text: str) -> int:
    """Number of decimals written in a plan number ('0.004' -> 3, '5000' -> 0)."""
    exponent = Decimal(text).as_tuple().exponent
    return max(0, -int(exponent))


def units(text: str, scale: int) -> int:
    """A plan number as an integer count of 10^-scale units, exactly."""
    value = Decimal(text).scaleb(scale)
    if value != value.to_integral_value():
        raise ValueError(f"{text} has more than {scale} decimals")
    return int(value)


def text_units(col: pd.Series, scale: int) -> np.ndarray:
    """Decimal strings ('123.4', '5') to int64 counts of 10^-scale units, without floats."""
    parts = col.astype(str).str.split(".", n=1, expand=True)
    whole = parts[0].astype(np.int64).to_numpy()
    if parts.shape[1] > 1:
        frac = parts[1].fillna("")
        if frac.str.len().max() > scale:
            raise ValueError(f"{col.name}: more than {scale} decimals")
        frac_units = frac.str.ljust(scale, "0").replace("", "0").astype(np.int64).to_numpy() if scale else 0
    else:
        frac_units = 0
    return whole * 10**scale + frac_units


def day_numbers(col: pd.Series) -> np.ndarray:
    """'YYYY-MM-DD' (or empty) to days since 1970-01-01; empty -> -1."""
    d = pd.to_datetime(col.replace("", None), format="%Y-%m-%d")
    days = d.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.where(d.isna().to_numpy(), -1, days)


def month_of(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(month: np.ndarray | int) -> np.ndarray:
    return np.asarray(month, dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)


def month_end(month: np.ndarray | int) -> np.ndarray:
    return month_start(np.asarray(month) + 1) - 1


def mul(a, b):
    """a * b, exact: int64 when the product surely fits, else Python ints (object)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != object and b.dtype != object:
        bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0))
        if bound < INT64_SAFE:
            return a.astype(np.int64) * b.astype(np.int64)
    return a.astype(object) * b.astype(object)


def round_div(n, m, half_up) -> np.ndarray:
    """round(n / m) to an integer, n >= 0, m > 0; half_up (bool array) else half_even."""
    q = n // m
    r = n - q * m
    twice = 2 * r
    up = (twice > m) | ((twice == m) & (half_up | (q % 2 == 1)))
    return np.asarray(q + up.astype(np.int64), dtype=np.int64)


def cents_text(c: int) -> str:
    sign = "-" if c < 0 else ""
    whole, frac = divmod(abs(int(c)), 100)
    return f"{sign}{whole}.{frac:02d}"


# ------------------------------------------------------------------ plans


def load_plans(plans_dir: Path) -> list[dict]:
    """Every plan file, numbers kept as the text written (BaseLoader: no floats)."""
    plans = []
    for path in sorted(Path(plans_dir).glob("*.y*ml")):
        with open(path, encoding="utf-8") as f:
            p = yaml.load(f, Loader=yaml.BaseLoader)
        p.setdefault("negative_balance", "carry_forward")
        if p.get("quality"):
            p["quality"].setdefault("combine", "multiply")
            p["quality"].setdefault("min_responses", "1")
        if p.get("outbound_credit"):
            p["outbound_credit"].setdefault("connected_only", "true")
        if p["period"] != "month":
            raise SystemExit(f"{path}: this baseline handles monthly plans only")
        plans.append(p)
    return plans


class Params:
    """Plan versions as arrays indexed by version key (0..V-1), plus the shared scales."""

    def __init__(self, plans: list[dict]):
        self.plans = plans
        self.V = len(plans)
        ob = [p.get("outbound_credit") for p in plans]
        q = [p.get("quality") for p in plans]
        tiers = [p.get("attainment_tiers") or [{"multiplier": "1"}] for p in plans]
        # scales: the most decimals written for each kind of number
        self.ss = max([decimals(o["share"]) for o in ob if o] or [0])
        self.us = max([decimals(t["up_to"]) for ts in tiers for t in ts if "up_to" in t] or [0])
        self.ms = max(decimals(t["multiplier"]) for ts in tiers for t in ts)
        self.rs = max(decimals(r["rate"]) for p in plans for r in p["rates"])
        self.bs = max([decimals(b["multiplier"]) for x in q if x for m in x["metrics"] for b in m["bands"]] or [0])
        self.qms = 2 * self.bs  # combined multiplier (a product of two metric multipliers)
        claws = [r for p in plans for r in (p.get("clawback") or [])]
        self.rcs = max([decimals(r["recover"]) for r in claws] or [0])
        self.cs = 2 + self.ss  # credited: cents * share
        self.S = max(self.cs, 2 + self.us)  # running credit and band edges share this scale

        self.has_ob = np.array([o is not None for o in ob])
        self.ob_share = np.array([units(o["share"], self.ss) if o else 0 for o in ob], dtype=np.int64)
        self.ob_window = np.array([int(o["window_days"]) if o else -1 for o in ob], dtype=np.int64)
        self.ob_connected_only = np.array([bool(o) and o["connected_only"] == "true" for o in ob])
        self.ob_channels = [list(o["channels"]) if o else [] for o in ob]
        self.half_up = np.array([p["rounding"] == "half_up" for p in plans])
        self.carry_forward = np.array([p["negative_balance"] == "carry_forward" for p in plans])
        self.has_cap = np.array(["cap" in p for p in plans])
        self.cap = np.array([units(p["cap"], 2) if "cap" in p else 0 for p in plans], dtype=np.int64)
        self.tiers = [[(units(t["up_to"], self.us) if "up_to" in t else None, units(t["multiplier"], self.ms)) for t in ts] for ts in tiers]
        self.quality = q
        self.clawback = [
            [(int(r["within_days"]), units(r["recover"], self.rcs)) for r in (p.get("clawback") or [])] for p in plans
        ]
        # rates: first rule naming a product wins; the catch-all is the last rule
        rows, self.fallback = [], np.zeros(self.V, dtype=np.int64)
        for v, p in enumerate(plans):
            seen = set()
            for rule in p["rates"]:
                products = rule.get("product")
                if products is None:
                    self.fallback[v] = units(rule["rate"], self.rs)
                    continue
                for product in [products] if isinstance(products, str) else products:
                    if product not in seen:
                        seen.add(product)
                        rows.append((v, product, units(rule["rate"], self.rs)))
        self.rates = pd.DataFrame(rows, columns=["vkey", "product", "rate"])

    def versions_by_month(self, months: range) -> pd.DataFrame:
        """(plan, month) -> vkey: the version with the greatest effective_from <= the month's start."""
        rows = []
        for plan_id in sorted({p["plan"] for p in self.plans}):
            mine = sorted(
                (np.datetime64(p["effective_from"], "D").astype(np.int64), v)
                for v, p in enumerate(self.plans)
                if p["plan"] == plan_id
            )
            for m in months:
                start = int(month_start(m))
                in_force = [v for eff, v in mine if eff <= start]
                if in_force:
                    rows.append((plan_id, m, in_force[-1]))
        return pd.DataFrame(rows, columns=["plan", "month", "vkey"])


# ------------------------------------------------------------------ the run


def compute(plans_dir: Path, data_dir: Path, period: str, detail: bool = False) -> dict:
    """Totals and per-rep payouts of `period` (YYYY-MM); with `detail`, also every commission line."""
    P = Params(load_plans(plans_dir))
    req = int(np.datetime64(period, "M").astype(np.int64))
    first = min(int(month_of(np.array([np.datetime64(p["effective_from"], "D").astype(np.int64)]))[0]) for p in P.plans)
    months = range(first, req + 1)
    end_day = int(month_end(req))
    vt = P.versions_by_month(months)

    # reps (all on monthly plans here)
    reps = pd.read_csv(data_dir / "reps.csv", dtype=str, keep_default_na=False)
    reps = pd.DataFrame(
        {
            "rep_id": reps["rep_id"],
            "plan": reps["plan"],
            "quota": text_units(reps["quota"], 2),
            "start": day_numbers(reps["start_date"]),
            "end": day_numbers(reps["end_date"]),
        }
    )
    reps["end"] = np.where(reps["end"] < 0, np.int64(10**9), reps["end"])

    # sales up to the period; a cancellation after it is "not cancelled yet"
    s = pd.read_csv(data_dir / "sales.csv", dtype=str, keep_default_na=False)
    sold = day_numbers(s["sold_on"])
    keep = sold <= end_day
    s = s[keep]
    cancelled = day_numbers(s["cancelled_on"])
    sales = pd.DataFrame(
        {
            "sale_id": s["sale_id"].to_numpy(),
            "seller_id": s["rep_id"].to_numpy(),
            "customer_id": s["customer_id"].to_numpy(),
            "product": s["product"].to_numpy(),
            "amount": text_units(s["amount"], 2),
            "sold": sold[keep],
            "cancelled": np.where(cancelled <= end_day, cancelled, -1),
        }
    )
    del s
    sales["month"] = month_of(sales["sold"].to_numpy())

    # ---- step 1, credit: the seller's version in force decides the split
    sales = sales.merge(reps[["rep_id", "plan"]].rename(columns={"rep_id": "seller_id"}), on="seller_id", how="left")
    sales = sales.merge(vt.rename(columns={"vkey": "seller_vkey"}), on=["plan", "month"], how="left").drop(columns="plan")
    sv = sales["seller_vkey"].to_numpy()

    c = pd.read_csv(data_dir / "contacts.csv", dtype=str, keep_default_na=False) if (data_dir / "contacts.csv").exists() else None
    split_rep = pd.Series(np.full(len(sales), None, dtype=object))
    if c is not None and len(c) and P.has_ob.any():
        contacted = day_numbers(c["contacted_on"])
        c = pd.DataFrame(
            {
                "contact_id": c["contact_id"].to_numpy(),
                "contact_rep": c["rep_id"].to_numpy(),
                "customer_id": c["customer_id"].to_numpy(),
                "contacted": contacted,
                "channel": c["channel"].to_numpy(),
                "connected": (c["connected"] == "true").to_numpy(),
            }
        )[contacted <= end_day]
        with_ob = sales.loc[P.has_ob[sv], ["sale_id", "seller_id", "customer_id", "sold", "seller_vkey"]]
        cand = with_ob.merge(c, on="customer_id")
        gap = cand["sold"] - cand["contacted"]
        ok = np.zeros(len(cand), dtype=bool)
        cv = cand["seller_vkey"].to_numpy()
        for v in np.flatnonzero(P.has_ob):  # a few plan versions
            ok |= (
                (cv == v)
                & cand["channel"].isin(P.ob_channels[v]).to_numpy()
                & (cand["connected"].to_numpy() | (not P.ob_connected_only[v]))
                & (gap.to_numpy() >= 0)
                & (gap.to_numpy() <= P.ob_window[v])
            )
        cand = cand[ok].merge(
            reps[["rep_id", "start", "end"]].rename(columns={"rep_id": "contact_rep"}), on="contact_rep"
        )
        cand = cand[(cand["start"] <= cand["sold"]) & (cand["sold"] <= cand["end"])]
        best = cand.sort_values(["sale_id", "contacted", "contact_id"]).drop_duplicates("sale_id", keep="last")
        best = best[best["contact_rep"] != best["seller_id"]]
        sales = sales.merge(best[["sale_id", "contact_rep"]], on="sale_id", how="left")
        split_rep = sales["contact_rep"]
    split = split_rep.notna().to_numpy()
    sv = sales["seller_vkey"].to_numpy()
    amount_c = sales["amount"].to_numpy() * 10**P.ss  # at the credited scale
    rel = sales["amount"].to_numpy() * np.where(split, P.ob_share[sv], 0)
    common = ["sale_id", "product", "sold", "cancelled", "month"]
    seller_lines = sales[common].assign(owner=sales["seller_id"].to_numpy(), role="seller", credited=amount_c - rel)
    rel_lines = sales.loc[split, common].assign(
        owner=split_rep[split].to_numpy(), role="relationship", credited=rel[split]
    )
    lines = pd.concat([seller_lines, rel_lines], ignore_index=True)
    del sales, seller_lines, rel_lines, c

    # ---- step 2, attainment: running credit (times D) against prorated band edges (times D)
    lines = lines.merge(reps.rename(columns={"rep_id": "owner"}), on="owner", how="inner")
    lines = lines.merge(vt, on=["plan", "month"], how="left")
    m = lines["month"].to_numpy()
    p_start, p_end = month_start(m), month_end(m)
    D = p_end - p_start + 1
    lines["D"] = D
    lines["scaled"] = lines["credited"].to_numpy() * 10 ** (P.S - P.cs) * D
    lines = lines.sort_values(["owner", "month", "sold", "sale_id", "role"], ignore_index=True)
    lines["run_to"] = lines.groupby(["owner", "month"], sort=False)["scaled"].cumsum()
    run_to = lines["run_to"].to_numpy()
    run_from = run_to - lines["scaled"].to_numpy()
    vk = lines["vkey"].to_numpy()
    D = lines["D"].to_numpy()
    active_days = np.maximum(
        0,
        np.minimum(lines["end"].to_numpy(), month_end(lines["month"].to_numpy()))
        - np.maximum(lines["start"].to_numpy(), month_start(lines["month"].to_numpy()))
        + 1,
    )
    quota_days = lines["quota"].to_numpy() * active_days * 10 ** (P.S - 2 - P.us)

    # ---- step 3, rate: first rule naming the product, else the catch-all
    rate = lines[["vkey", "product"]].merge(P.rates, on=["vkey", "product"], how="left")["rate"]
    rate = np.where(rate.isna(), P.fallback[vk], rate.fillna(0)).astype(np.int64)

    n_bands = max(len(t) for t in P.tiers)
    base = np.zeros(len(lines), dtype=np.int64)
    lower = np.zeros(len(lines), dtype=np.int64)
    for b in range(n_bands):  # a few tier bands
        up_to = np.array([t[b][0] if b < len(t) and t[b][0] is not None else -1 for t in P.tiers], dtype=np.int64)[vk]
        mult = np.array([t[b][1] if b < len(t) else 0 for t in P.tiers], dtype=np.int64)[vk]
        upper = np.where(up_to >= 0, mul(up_to, quota_days), OPEN)
        piece = np.maximum(0, np.minimum(run_to, upper) - np.maximum(run_from, lower))
        base = base + mul(mul(piece, rate), mult)
        lower = upper
    lines["base"] = base  # base commission * D, at scale S + rs + ms

    # ---- step 4, quality multiplier per (rep, month), at scale qms
    qm = quality_multipliers(P, data_dir, reps, vt, months)
    lines = lines.merge(qm, left_on=["owner", "month"], right_on=["rep_id", "month"], how="left")
    qmv = lines["qm"].fillna(10**P.qms).to_numpy().astype(np.int64)
    k = P.S + P.rs + P.ms + P.qms - 2
    value = mul(lines["base"].to_numpy(), qmv)
    lines["commission"] = round_div(value, lines["D"].to_numpy() * 10**k, P.half_up[lines["vkey"].to_numpy()])

    # ---- step 5, cap; step 6, clawback; step 7, balance on the rep x month grid
    per = lines.groupby(["owner", "month"], sort=False).agg(earned=("commission", "sum"), n_lines=("commission", "size"))
    claws = clawbacks(P, lines)
    grid = pd.MultiIndex.from_product([reps["rep_id"], list(months)], names=["owner", "month"]).to_frame(index=False)
    grid = grid.merge(reps.rename(columns={"rep_id": "owner"}), on="owner").merge(vt, on=["plan", "month"], how="left")
    grid = grid.merge(per.reset_index(), on=["owner", "month"], how="left").merge(claws, on=["owner", "month"], how="left")
    for col in ("earned", "n_lines", "clawbacks", "n_claws"):
        grid[col] = grid[col].fillna(0).astype(np.int64)
    gv = grid["vkey"].fillna(-1).astype(np.int64).to_numpy()
    has_cap = np.where(gv >= 0, P.has_cap[gv], False)
    cap = np.where(gv >= 0, P.cap[gv], 0)
    grid["cap_adjustment"] = np.where(has_cap & (grid["earned"].to_numpy() > cap), cap - grid["earned"].to_numpy(), 0)
    gm = grid["month"].to_numpy()
    grid["active"] = (grid["start"].to_numpy() <= month_end(gm)) & (grid["end"].to_numpy() >= month_start(gm))
    grid["x"] = grid["earned"] + grid["cap_adjustment"] + grid["clawbacks"]
    grid["carry_forward"] = np.where(gv >= 0, P.carry_forward[gv], True)
    grid = grid.sort_values(["month", "owner"], ignore_index=True)
    carry = pd.Series(0, index=reps["rep_id"].to_numpy(), dtype=np.int64)
    parts = []
    for month in months:  # balance carries month to month
        g = grid[grid["month"] == month].copy()
        carry_in = carry.reindex(g["owner"].to_numpy()).to_numpy()
        net = g["x"].to_numpy() + carry_in
        negative = g["carry_forward"].to_numpy() & (net < 0)
        g["carry_in"] = carry_in
        g["payout"] = np.where(negative, 0, net)
        g["carry_out"] = np.where(negative, net, 0)
        carry = pd.Series(g["carry_out"].to_numpy(), index=g["owner"].to_numpy())
        parts.append(g)
    last = parts[-1]
    present = last[
        last["active"] | (last["n_lines"] > 0) | (last["n_claws"] > 0) | (last["carry_in"] != 0) | (last["cap_adjustment"] != 0)
    ].sort_values("owner")
    totals = {c: cents_text(present[c].sum()) for c in ("earned", "cap_adjustment", "clawbacks", "carry_in", "payout", "carry_out")}
    result = {
        "period": period,
        "totals": {"reps": len(present), **totals},
        "payouts": dict(zip(present["owner"], (cents_text(v) for v in present["payout"].to_numpy()), strict=True)),
        "lines": int((lines["month"] == req).sum()),
    }
    if detail:
        result["commission_lines"] = lines
    return result


def quality_multipliers(P: Params, data_dir: Path, reps: pd.DataFrame, vt: pd.DataFrame, months: range) -> pd.DataFrame:
    """(rep_id, month, qm) for reps whose version in force has a quality section; qm at scale P.qms."""
    one = 10**P.qms
    q_versions = [v for v in range(P.V) if P.quality[v]]
    path = data_dir / "feedback.csv"
    if not q_versions:
        return pd.DataFrame({"rep_id": [], "month": [], "qm": []})
    fb = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else pd.DataFrame(
        {"rep_id": [], "responded_on": [], "survey": [], "score": []}
    )
    score = fb["score"].astype(np.int64).to_numpy()
    is_csat = (fb["survey"] == "csat").to_numpy()
    is_nps = (fb["survey"] == "nps").to_numpy()
    fb = pd.DataFrame(
        {
            "rep_id": fb["rep_id"].to_numpy(),
            "day": day_numbers(fb["responded_on"]),
            "csat_n": is_csat.astype(np.int64),
            "csat_num": (is_csat & (score >= 4)).astype(np.int64),
            "nps_n": is_nps.astype(np.int64),
            "nps_num": 100 * (is_nps & (score >= 9)).astype(np.int64) - 100 * (is_nps & (score <= 6)).astype(np.int64),
        }
    )
    rep_plan = reps[["rep_id", "plan"]]
    window_of = np.array([int(q["window_days"]) if q else 0 for q in P.quality], dtype=np.int64)
    out = []
    for month in months:  # a few months x a few windows
        end = int(month_end(month))
        in_force = rep_plan.merge(vt[vt["month"] == month], on="plan")
        in_force = in_force[in_force["vkey"].isin(q_versions)]
        windows = window_of[in_force["vkey"].to_numpy()]
        for w in np.unique(windows):
            who = in_force[windows == w]
            sel = fb[(fb["day"] >= end - int(w) + 1) & (fb["day"] <= end)]
            counts = sel.groupby("rep_id")[["csat_n", "csat_num", "nps_n", "nps_num"]].sum()
            out.append(who.merge(counts, left_on="rep_id", right_index=True, how="left").assign(month=month))
    g = pd.concat(out, ignore_index=True)
    for col in ("csat_n", "csat_num", "nps_n", "nps_num"):
        g[col] = g[col].fillna(0).astype(np.int64)
    g["qm"] = one
    for v in q_versions:  # per plan version: its metrics and bands
        sel = (g["vkey"] == v).to_numpy()
        q = P.quality[v]
        min_n = int(q["min_responses"])
        metric_mults = []
        for metric in q["metrics"]:
            n = g.loc[sel, f"{metric['metric']}_n"].to_numpy()
            num = g.loc[sel, f"{metric['metric']}_num"].to_numpy()
            bands = metric["bands"]
            mult = np.full(n.shape[0], units(bands[-1]["multiplier"], P.bs), dtype=np.int64)
            for band in reversed(bands[:-1]):  # the first band whose `below` exceeds the value wins
                k = decimals(band["below"])
                below_lt = num * 10**k < units(band["below"], k) * n  # value < below, exactly
                mult = np.where(below_lt, units(band["multiplier"], P.bs), mult)
            metric_mults.append(np.where(n >= min_n, mult, 10**P.bs))
        if q["combine"] == "min":
            combined = np.minimum.reduce(metric_mults) * 10**P.bs
        else:
            # start from 1 at scale 2*bs; each factor (scale bs) keeps it exact at 2*bs
            combined = np.full(int(sel.sum()), 10 ** (2 * P.bs), dtype=np.int64)
            for mm in metric_mults:
                combined = combined * mm // 10**P.bs
        g.loc[sel, "qm"] = combined
    return g[["rep_id", "month", "qm"]]


def clawbacks(P: Params, lines: pd.DataFrame) -> pd.DataFrame:
    """Per (owner, month of cancellation): the sum of clawbacks and their count."""
    c = lines[lines["cancelled"] >= 0]
    days = (c["cancelled"] - c["sold"]).to_numpy()
    vk = c["vkey"].to_numpy()
    recover = np.full(len(c), -1, dtype=np.int64)
    for v in range(P.V):  # rules in list order: the first that matches wins
        for within, rec in reversed(P.clawback[v]):
            recover = np.where((vk == v) & (days <= within), rec, recover)
    hit = recover >= 0
    c = c[hit]
    amount = -round_div(
        mul(c["commission"].to_numpy(), recover[hit]), np.full(len(c), 10**P.rcs, dtype=np.int64), P.half_up[c["vkey"].to_numpy()]
    )
    out = pd.DataFrame({"owner": c["owner"].to_numpy(), "month": month_of(c["cancelled"].to_numpy()), "clawbacks": amount})
    return out.groupby(["owner", "month"], as_index=False).agg(clawbacks=("clawbacks", "sum"), n_claws=("clawbacks", "size"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="The bench plan computed with pandas (baseline and cross-check).")
    ap.add_argument("--plans", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--period", required=True, help="a month, YYYY-MM")
    ap.add_argument("--payouts", action="store_true", help="also print every rep's payout")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    result = compute(args.plans, args.data, args.period)
    result["seconds"] = round(time.perf_counter() - t0, 3)
    if not args.payouts:
        result.pop("payouts")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
