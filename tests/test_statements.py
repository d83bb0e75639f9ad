"""`run --statements`: one self-contained, escaped HTML statement per rep, the same content as `explain`."""

from __future__ import annotations

import html
import re
from pathlib import Path

from test_explain import REPS, SALES, invoke, text, write_case

from comp_calc.pipeline import stages as lib
from comp_calc.outputs.writer import safe_file_stem
from comp_calc.outputs.statement import period_statements
from comp_calc.outputs.statement_html import statement_files, statement_html

HOSTILE_REPS = REPS + '../../x,<script>alert("x")</script> & Co,Team <b>,p,1000,2026-01-01,\n'
HOSTILE_SALES = SALES + "S9,../../x,c9,<img src=x>,100,2026-02-10,\n"


def run(tmp_path: Path, *args: str, reps: str = REPS, sales: str = SALES):
    plans, data = write_case(tmp_path, reps=reps, sales=sales)
    out = tmp_path / "out"
    result = invoke("run", "--plans", str(plans), "--data", str(data), "--out", str(out), "--allow-incomplete", *args)
    return result, out


def test_one_statement_per_rep_present(tmp_path):
    result, out = run(tmp_path, "--period", "2026-01", "--statements")
    assert result.exit_code == 0, result.output
    folder = out / "2026-01" / "statements"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{safe_file_stem(r)}.html" for r in ("A1", "B2", "D4"))
    # February: B2 left on 2026-01-31 and has no line, so no statement
    result, out = run(tmp_path / "feb", "--period", "2026-02", "--statements")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "2026-02" / "statements").iterdir()) == sorted(
        f"{safe_file_stem(r)}.html" for r in ("A1", "D4")
    )


def test_no_statements_without_the_option(tmp_path):
    result, out = run(tmp_path, "--period", "2026-01")
    assert result.exit_code == 0, result.output
    assert not (out / "2026-01" / "statements").exists()


def test_statement_has_the_explain_content(tmp_path):
    result, out = run(tmp_path, "--period", "2026-02", "--statements")
    assert result.exit_code == 0, result.output
    page = (out / "2026-02" / "statements" / f"{safe_file_stem('A1')}.html").read_text()
    explained = invoke("explain", "--plans", str(tmp_path / "plans"), "--data", str(tmp_path / "data"), "--rep", "A1", "--period", "2026-02", "--allow-incomplete")
    # every sentence of the explain header is on the page, escaped
    for line in text(explained.output).splitlines()[:9]:
        assert html.escape(line.strip(), quote=True) in page, line
    cells = re.findall(r"<td(?! class=\"[^\"]*ytd)[^>]*>([^<]*)</td>", page)  # the year-to-date table apart
    assert ["S3", "2026-02-03", "card", "seller", "4000.00", "0.03", "1000.00 x0.50 + 3000.00 x1.00", "1.00", "105.00"] == cells[:9]
    assert ["S2", "loan", "seller", "2026-01-10", "2026-02-20", "41", "within 90 days", "0.5", "8.10", "2026-01", "-4.05"] == cells[9:20]
    assert cells[20:] == [
        "Earned", "105.00", "1 commission line(s)",
        "Cap", "-5.00", "earned 105.00 is above the cap 100.00",
        "Clawbacks", "-4.05", "1 cancelled sale line(s)",
        "Carry in", "0.00", "nothing carried in",
        "Payout", "95.95", "negative balance: carry_forward",
        "Carry out", "0.00", "nothing carried to the next period",
    ]  # fmt: skip


def test_self_contained_and_printable(tmp_path):
    result, out = run(tmp_path, "--period", "2026-01", "--statements")
    assert result.exit_code == 0, result.output
    page = (out / "2026-01" / "statements" / f"{safe_file_stem('A1')}.html").read_text()
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    assert "<style>" in page and "@media print" in page
    for external in ("<script", "<link", "src=", "href=", "http://", "https://", "url(", "@import"):
        assert external not in page


def test_hostile_rep_id_stays_in_the_statements_folder_and_text_is_escaped(tmp_path):
    result, out = run(tmp_path, "--period", "2026-02", "--statements", reps=HOSTILE_REPS, sales=HOSTILE_SALES)
    assert result.exit_code == 0, result.output
    folder = (out / "2026-02" / "statements").resolve()
    made = sorted(p for p in (tmp_path).rglob("*.html"))
    assert made and all(p.resolve().parent == folder for p in made)
    page = (folder / f"{safe_file_stem('../../x')}.html").read_text()
    assert "<script" not in page and "<b>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert "Team &lt;b&gt;" in page
    assert "<td>&lt;img src=x&gt;</td>" in page


def test_statement_files_names_and_html_escaping_directly(tmp_path):
    plans, data = write_case(tmp_path, reps=HOSTILE_REPS, sales=HOSTILE_SALES)
    prep = lib.prepare(plans, data, "2026-02", False, allow_incomplete=True)
    result = lib.run(prep)
    files = statement_files(result, prep)
    assert sorted(files) == sorted(f"statements/{safe_file_stem(r)}.html" for r in ("../../x", "A1", "D4"))
    hostile = next(s for s in period_statements(result, "EUR") if s.rep_id == "../../x")
    page = statement_html(hostile)
    assert files[f"statements/{safe_file_stem('../../x')}.html"] == page.encode()
    assert "<title>Statement 2026-02 for ../../x &lt;script&gt;" in page
