"""HTML statements as a rep reads them: the attainment bar, the year-to-date chart, what the next
tier is worth and the note on exact credit. Checked by parsing the page (no browser needed).

The tiers case (plan t, monthly from 2025-12, tiers x0.5 up to 50% of quota, x1.0 up to 100%, then x1.5;
rate 0.1 on everything):
  N1 quota 1000, joined 2026-01-17: active 15 of 31 days in January, prorated quota
     1000 * 15 / 31 = 483.870967..., edges at 241.935483... (50%) and 483.870967... (100%).
     S1 123.4567 on 01-20: credited 123.4567 < 241.935483...: below the first edge, x0.50 now;
     next edge: 7500/31 - 123.4567 = 241.935483870... - 123.4567 = 118.478783870... -> 118.48 (cents, up)
     attainment 123.4567 * 31 / 15000 = 0.255144 (half-even, 6 decimals)
  M2 quota 1000 all along: December S2 400 (x0.5: 400 * 0.1 * 0.5 = 20.00);
     January S3 700: 500 x0.5 + 200 x1.0 at 0.1 = 25.00 + 20.00 = 45.00, attainment 0.7;
     next edge 1.0 * 1000 - 700 = 300.00, x1.50 there
  T3 quota 1000 all along: January S4 1200: above the last edge (100%): "x1.50" on further credit
Plan f (no tiers, monthly from 2026-01, rate 0.1): F4 quota 500 (S5 100: attainment 0.2), Z5 quota 0 (S6 50).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

import conftest
from conftest import invoke, read_csv
from test_statements import run as run_explain_case

from comp_calc.outputs.writer import safe_file_stem

TIERED = """\
plan: t
version: 1
effective_from: 2025-12-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
attainment_tiers:
  - up_to: 0.5
    multiplier: 0.5
  - up_to: 1.0
    multiplier: 1.0
  - multiplier: 1.5
"""

FLAT = """\
plan: f
version: 1
effective_from: 2026-01-01
currency: EUR
period: month
rounding: half_up
rates:
  - rate: 0.1
"""

REPS = """\
rep_id,name,team,plan,quota,start_date,end_date
N1,Nia Obi,East,t,1000,2026-01-17,
M2,Max Roe,East,t,1000,2025-12-01,
T3,Tom Ash,East,t,1000,2025-12-01,
F4,Fay Kim,West,f,500,2026-01-01,
Z5,Zed Ong,West,f,0,2026-01-01,
"""

SALES = """\
sale_id,rep_id,customer_id,product,amount,sold_on,cancelled_on
S1,N1,c1,card,123.4567,2026-01-20,
S2,M2,c2,loan,400,2025-12-10,
S3,M2,c3,loan,700,2026-01-10,
S4,T3,c4,loan,1200,2026-01-11,
S5,F4,c5,loan,100,2026-01-12,
S6,Z5,c6,loan,50,2026-01-13,
"""


class Page(HTMLParser):
    """Every element as (tag, attrs, text directly inside it)."""

    def __init__(self, page: str):
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self.open: list[int] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))
        if tag not in ("line", "rect", "meta", "br", "path", "circle", "polygon"):
            self.open.append(len(self.elements) - 1)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))

    def handle_endtag(self, tag):
        if self.open and self.elements[self.open[-1]][0] == tag:
            self.open.pop()

    def handle_data(self, data):
        if self.open and data.strip():
            self.elements[self.open[-1]][2].append(data.strip())

    def find(self, tag: str, cls: str | None = None) -> list[tuple[dict, str]]:
        return [
            (attrs, " ".join(text))
            for t, attrs, text in self.elements
            if t == tag and (cls is None or cls in (attrs.get("class") or "").split())
        ]


def tiers_case(tmp_path: Path, period: str = "2026-01"):
    plans, data = conftest.write_case(tmp_path, {"t.yaml": TIERED, "f.yaml": FLAT}, reps=REPS, sales=SALES)
    out = tmp_path / "out"
    result = invoke("run", "--plans", plans, "--data", data, "--out", out, "--period", period, "--statements", "--allow-incomplete")
    assert result.exit_code == 0, result.output
    return out / period


def page_of(folder: Path, rep: str) -> str:
    return (folder / "statements" / f"{safe_file_stem(rep)}.html").read_text()


@pytest.fixture(scope="module")
def january(tmp_path_factory):
    folder = tiers_case(tmp_path_factory.mktemp("tiers"))
    payouts = {r["rep_id"]: r for r in read_csv(folder / "payouts.csv")}
    return folder, payouts


# --------------------------------------------------------------------------
# the attainment bar


def bar_x(page: Page, cls: str) -> list[float]:
    return [float(a["x1"]) for a, _ in page.find("line", cls)]


def test_bar_marks_attainment_against_the_quota_and_the_tier_edges(january):
    folder, payouts = january
    for rep in ("N1", "M2", "T3"):
        page = Page(page_of(folder, rep))
        (track, _), = page.find("rect", "track")
        x0 = float(track["x"])
        (position,) = bar_x(page, "position")
        (hundred,) = bar_x(page, "quota-mark")
        edges = bar_x(page, "edge")
        # the marker sits at attainment x the 100% distance: N1 0.255144, M2 0.7, T3 1.2
        attainment = float(payouts[rep]["attainment"])
        assert (position - x0) / (hundred - x0) == pytest.approx(attainment, abs=1e-4), rep
        # edges at 50% and 100%; the 100% edge is the quota mark
        assert [(x - x0) / (hundred - x0) for x in edges] == pytest.approx([0.5, 1.0], abs=1e-4)
        assert [t for _, t in page.find("text", "edge-label")] == ["50%", "100%"]
        assert [t for _, t in page.find("text", "band-label")] == ["x0.50", "x1.00", "x1.50"]
        # the filled part of the bar ends at the marker
        (attained, _), = page.find("rect", "attained")
        assert float(attained["x"]) + float(attained["width"]) == pytest.approx(position)


def test_bar_label_shows_the_attainment_of_the_payouts_row(january):
    folder, payouts = january
    page = Page(page_of(folder, "N1"))
    assert payouts["N1"]["attainment"] == "0.255144"
    assert [t for _, t in page.find("text", "position-label")] == ["25.51%"]


def test_bar_without_tiers_has_the_100_percent_mark_only(january):
    folder, payouts = january
    page = Page(page_of(folder, "F4"))
    assert page.find("line", "edge") == [] and page.find("text", "band-label") == []
    (track, _), = page.find("rect", "track")
    x0 = float(track["x"])
    (hundred,) = bar_x(page, "quota-mark")
    (position,) = bar_x(page, "position")
    assert payouts["F4"]["attainment"] == "0.200000"  # 100 / 500
    assert (position - x0) / (hundred - x0) == pytest.approx(0.2, abs=1e-4)
    assert [t for _, t in page.find("text", "quota-label")] == ["100%"]


def test_quota_zero_has_no_bar_and_says_why(january):
    folder, _ = january
    raw = page_of(folder, "Z5")
    page = Page(raw)
    assert page.find("svg", "attainment-bar") == []
    assert "No attainment bar: the quota for this period is 0." in raw


# --------------------------------------------------------------------------
# what the next tier is worth


def next_tier(raw: str) -> str:
    (_, sentence), = Page(raw).find("p", "next-tier")
    return sentence


def test_next_tier_below_the_first_edge_prorated_and_rounded_up_to_cents(january):
    folder, _ = january
    # 1000 * 15/31 * 0.5 - 123.4567 = 118.478783... -> 118.48 more reaches the edge
    assert next_tier(page_of(folder, "N1")) == (
        "Next tier: 118.48 more credit reaches 50% of quota, where the tier multiplier goes from x0.50 to x1.00."
    )


def test_next_tier_between_edges(january):
    folder, _ = january
    # 1.0 * 1000 - 700 = 300.00
    assert next_tier(page_of(folder, "M2")) == (
        "Next tier: 300.00 more credit reaches 100% of quota, where the tier multiplier goes from x1.00 to x1.50."
    )


def test_next_tier_above_every_edge(january):
    folder, _ = january
    assert next_tier(page_of(folder, "T3")) == (
        "Above the last tier edge (100% of quota): further credit is paid at the top tier multiplier x1.50."
    )


def test_no_next_tier_sentence_without_tiers(january):
    folder, _ = january
    assert Page(page_of(folder, "F4")).find("p", "next-tier") == []


def test_next_tier_amount_exactly_at_an_edge_is_the_next_one():
    from decimal import Decimal

    from comp_calc.outputs.statement import Band, next_tier_step

    bands = (Band(Decimal("0.5"), Decimal("0.5")), Band(Decimal("1.0"), Decimal("1.0")), Band(None, Decimal("1.5")))
    # credited exactly 500 of quota 1000: already in the x1.0 band (bands are [lower, upper)), 500 more to 100%
    assert next_tier_step(bands, Decimal(1000), 30, 30, Decimal(500)) == (Decimal("500.00"), Decimal("1.0"), Decimal("1.0"), Decimal("1.5"))
    # 1000 * 10/30 = 333.33...; edge 0.5 -> 166.666...; credited 0.0001 -> 166.666566... -> 166.67 (up)
    assert next_tier_step(bands, Decimal(1000), 10, 30, Decimal("0.0001"))[0] == Decimal("166.67")
    assert next_tier_step(bands, Decimal(1000), 30, 30, Decimal(1000)) is None


# --------------------------------------------------------------------------
# exact credit note


NOTE = "Credit is exact (a relationship split can give an amount like 123.4567); line amounts are rounded to cents."


def test_exact_credit_note_only_when_some_credit_has_more_than_two_decimals(january):
    folder, _ = january
    assert NOTE in page_of(folder, "N1")  # credited 123.4567
    for rep in ("M2", "T3", "F4", "Z5"):
        assert NOTE not in page_of(folder, rep), rep


# --------------------------------------------------------------------------
# year to date chart


def series(page: Page) -> dict[str, list[tuple[str, str, float, float]]]:
    """series name -> [(period, value text, y, height)] from the chart's bars."""
    out: dict[str, list] = {}
    for attrs, _ in page.find("rect", "ytd-bar"):
        out.setdefault(attrs["data-series"], []).append(
            (attrs["data-period"], attrs["data-value"], float(attrs["y"]), float(attrs["height"]))
        )
    return out


def test_year_to_date_chart_is_the_grid_rows_from_january(tmp_path):
    # the run computes December 2025 too (the plan starts then); the chart of January 2026 starts in January
    january = tiers_case(tmp_path / "jan", "2026-01")
    december = tiers_case(tmp_path / "dec", "2025-12")
    page = Page(page_of(january, "M2"))
    row = {r["rep_id"]: r for r in read_csv(january / "payouts.csv")}["M2"]
    got = series(page)
    assert sorted(got) == ["clawbacks", "earned", "payout"]
    assert [(p, v) for p, v, *_ in got["earned"]] == [("2026-01", row["earned"])] == [("2026-01", "45.00")]
    assert [(p, v) for p, v, *_ in got["payout"]] == [("2026-01", row["payout"])]
    assert [(p, v) for p, v, *_ in got["clawbacks"]] == [("2026-01", row["clawbacks"])]
    # December's chart has December only
    dec_row = {r["rep_id"]: r for r in read_csv(december / "payouts.csv")}["M2"]
    assert dec_row["earned"] == "20.00"  # 400 x0.5 at 0.1
    assert [(p, v) for p, v, *_ in series(Page(page_of(december, "M2")))["earned"]] == [("2025-12", "20.00")]
    legend = [t for _, t in page.find("text", "legend")]
    assert legend == ["earned", "clawbacks", "payout"]


def test_year_to_date_chart_over_two_periods_matches_payouts_and_scales(tmp_path):
    # the explain case: A1 January earned 18.90, payout 18.90; February earned 105.00, clawbacks -4.05, payout 95.95
    _, jan_out = run_explain_case(tmp_path / "jan", "--period", "2026-01")
    result, out = run_explain_case(tmp_path / "feb", "--period", "2026-02", "--statements")
    assert result.exit_code == 0, result.output
    rows = {
        p: {r["rep_id"]: r for r in read_csv(o / p / "payouts.csv")}["A1"]
        for p, o in (("2026-01", jan_out), ("2026-02", out))
    }
    page = Page((out / "2026-02" / "statements" / f"{safe_file_stem('A1')}.html").read_text())
    got = series(page)
    for name in ("earned", "clawbacks", "payout"):
        assert [(p, v) for p, v, *_ in got[name]] == [(p, rows[p][name]) for p in ("2026-01", "2026-02")], name
    assert [v for _, v, *_ in got["clawbacks"]] == ["0.00", "-4.05"]
    # bar heights are proportional to the amounts: 105.00 / 18.90 for earned, 4.05 / 95.95
    (_, _, _, jan_h), (_, _, _, feb_h) = got["earned"]
    assert feb_h / jan_h == pytest.approx(105.00 / 18.90, rel=1e-3)
    assert got["clawbacks"][1][3] / got["payout"][1][3] == pytest.approx(4.05 / 95.95, rel=1e-3)
    # a negative amount hangs below the zero line, a positive one stands on it
    (zero,) = [float(a["y1"]) for a, _ in page.find("line", "zero")]
    _, _, y, h = got["clawbacks"][1]
    assert y == pytest.approx(zero)
    _, _, y, h = got["payout"][1]
    assert y + h == pytest.approx(zero)
    # axis labels and money text ticks
    assert [t for _, t in page.find("text", "axis-label")] == ["period", "EUR"]
    ticks = [t for _, t in page.find("text", "tick")]
    assert ticks and all(t.replace("-", "").replace(".", "").isdigit() and t[-3] == "." for t in ticks)
    assert "0.00" in ticks
    # the amounts are also a table under the chart, with the year's total
    cells = [t for _, t in page.find("td", "ytd")]
    assert cells == ["2026-01", "18.90", "0.00", "18.90", "2026-02", "105.00", "-4.05", "95.95", "Year to date", "123.90", "-4.05", "114.85"]


# --------------------------------------------------------------------------
# printable, self-contained


def test_print_stylesheet_for_a4_and_no_external_assets(january):
    folder, _ = january
    raw = page_of(folder, "N1")
    assert "@page { size: A4" in raw and "@media print" in raw
    assert "print-color-adjust: exact" in raw
    for external in ("<script", "<link", "src=", "href=", "http://", "https://", "url(", "@import", "<img"):
        assert external not in raw
