"""Rebuild the example CRM exports under examples/ from a slice of sample_data/.

The slice is every rep and the sales, survey answers and contacts dated up to
SLICE_END; each example re-lays it out the way its CRM exports it (other column
names, date and number formats, words for values) without changing a value, so
that `comp-calc run` with the example's mapping gives the same results as on
the slice in our own layout (tests/test_mapping.py checks it). The reps carry
their manager and the sales their currency; marketing's campaign calendar and
the exchange rates stay in comp-calc's own layout (they need no mapping).

    python examples/make_exports.py
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SLICE_END = "2025-12-31"
DATED = {"sales": "sold_on", "feedback": "responded_on", "contacts": "contacted_on"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def sliced(name: str) -> list[dict[str, str]]:
    """The rows of sample_data/NAME.csv in the slice, in file order."""
    with (SAMPLE / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if name not in DATED or r[DATED[name]] <= SLICE_END]


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")


def us_date(text: str) -> str:  # 2025-11-03 -> 11/03/2025
    return "" if not text else date.fromisoformat(text).strftime("%m/%d/%Y")


def eu_date(text: str) -> str:  # 2025-11-03 -> 03/11/2025
    return "" if not text else date.fromisoformat(text).strftime("%d/%m/%Y")


def named_date(text: str) -> str:  # 2025-11-03 -> 03 Nov 2025 (English month names, whatever the locale)
    if not text:
        return ""
    day = date.fromisoformat(text)
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def comma(text: str) -> str:  # 4491.60 -> 4491,60
    return text.replace(".", ",")


def title(word: str) -> str:  # savings_account -> Savings Account
    return word.replace("_", " ").title()


def salesforce(folder: Path) -> None:
    reps = sliced("reps")
    write(folder / "User_Export.csv",
          ["Id", "Name", "Sales_Team__c", "Comp_Plan__c", "Quota__c", "Start_Date__c", "End_Date__c", "IsActive",
           "ManagerId"],
          [[r["rep_id"], r["name"], r["team"], r["plan"], r["quota"], us_date(r["start_date"]), us_date(r["end_date"]),
            "0" if r["end_date"] else "1", r["manager_id"]] for r in reps])
    write(folder / "Opportunity_Export.csv",
          ["Id", "StageName", "OwnerId", "AccountId", "Product_Family", "Amount", "CurrencyIsoCode", "CloseDate",
           "Cancellation_Date"],
          [[s["sale_id"], "Closed Won", s["rep_id"], s["customer_id"], title(s["product"]), s["amount"], s["currency"],
            us_date(s["sold_on"]), us_date(s["cancelled_on"])] for s in sliced("sales")])
    write(folder / "Survey_Response_Export.csv",
          ["Id", "OwnerId", "AccountId", "Survey_Type__c", "Score__c", "Response_Date__c"],
          [[f["response_id"], f["rep_id"], f["customer_id"], f["survey"].upper(), f["score"], us_date(f["responded_on"])]
           for f in sliced("feedback")])
    subtype = {"voice": "Call", "email": "Email", "sms": "SMS", "visit": "Visit"}
    write(folder / "Task_Export.csv",
          ["Id", "OwnerId", "WhatId", "ActivityDate", "TaskSubtype", "Call_Connected__c"],
          [[c["contact_id"], c["rep_id"], c["customer_id"], us_date(c["contacted_on"]), subtype[c["channel"]],
            "1" if c["connected"] == "true" else "0"] for c in sliced("contacts")])


def hubspot(folder: Path) -> None:
    write(folder / "owners.csv",
          ["Owner ID", "Owner name", "Team", "Compensation plan", "Quota", "Start date", "End date", "Reports to"],
          [[r["rep_id"], r["name"], r["team"], r["plan"], comma(r["quota"]), eu_date(r["start_date"]),
            eu_date(r["end_date"]), r["manager_id"]] for r in sliced("reps")])
    write(folder / "deals.csv",
          ["Record ID", "Deal Name", "Deal owner", "Associated Company ID", "Product", "Amount", "Currency",
           "Close Date", "Cancellation date"],
          [[s["sale_id"], f"{title(s['product'])} {s['customer_id']}", s["rep_id"], s["customer_id"],
            title(s["product"]), comma(s["amount"]), s["currency"], eu_date(s["sold_on"]), eu_date(s["cancelled_on"])]
           for s in sliced("sales")])
    write(folder / "feedback_submissions.csv",
          ["Submission ID", "Contact owner", "Associated Company ID", "Submitted at", "Survey type", "Rating"],
          [[f["response_id"], f["rep_id"], f["customer_id"], named_date(f["responded_on"]), f["survey"].upper(),
            f["score"]] for f in sliced("feedback")])
    kind = {"voice": "Call", "email": "Email", "sms": "SMS", "visit": "Meeting"}
    missed = ("No answer", "Busy", "Left voicemail")
    write(folder / "activities.csv",
          ["Activity ID", "Activity assigned to", "Associated Company ID", "Activity date", "Activity type",
           "Call outcome"],
          [[c["contact_id"], c["rep_id"], c["customer_id"], named_date(c["contacted_on"]), kind[c["channel"]],
            "Connected" if c["connected"] == "true" else missed[i % len(missed)]]
           for i, c in enumerate(sliced("contacts"))])


def own_layout(folder: Path) -> None:
    """Marketing's campaign calendar and the exchange rates, kept in comp-calc's own layout
    (campaigns.csv and fx_rates.csv need no mapping), whole: they are not dated rows."""
    for name in ("campaigns.csv", "fx_rates.csv"):
        (folder / name).write_bytes((SAMPLE / name).read_bytes())


if __name__ == "__main__":
    for crm, export in (("salesforce", salesforce), ("hubspot", hubspot)):
        export(ROOT / "examples" / f"{crm}_export")
        own_layout(ROOT / "examples" / f"{crm}_export")
