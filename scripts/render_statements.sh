#!/usr/bin/env bash
# Run the sample with --statements and render one statement with headless Chromium,
# to look at it as a rep would: a screenshot (PNG) and an A4 print (PDF).
#
#   scripts/render_statements.sh [REP] [PERIOD] [OUT]
#
# REP defaults to R0023 (a monthly outbound rep with relationship credit lines),
# PERIOD to 2026-10, OUT to /tmp/comp-calc-statements. Needs comp-calc installed
# (pip install -e .) and Chromium (Debian: apt-get install chromium). Writes
# OUT/PERIOD/statements/*.html, OUT/REP.png and OUT/REP.pdf, and prints the PDF's
# page size when pdfinfo (poppler-utils) is there.
set -euo pipefail

rep=${1:-R0023}
period=${2:-2026-10}
out=${3:-/tmp/comp-calc-statements}
root=$(cd "$(dirname "$0")/.." && pwd)

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "render_statements: no chromium found (Debian: apt-get install chromium)" >&2
    exit 2
fi

comp-calc run --plans "$root/plans" --data "$root/sample_data" --period "$period" --out "$out" --force --statements
page=$(python3 -c 'import sys; from comp_calc.outputs.statement_html import statement_name; print(statement_name(sys.argv[1]))' "$rep")
html="$out/$period/$page"
[ -f "$html" ] || { echo "render_statements: no statement for $rep in $period ($html)" >&2; exit 2; }

flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-pdf-header-footer)
"$browser" "${flags[@]}" --window-size=1000,2400 --screenshot="$out/$rep.png" "file://$html" 2>/dev/null
"$browser" "${flags[@]}" --print-to-pdf="$out/$rep.pdf" "file://$html" 2>/dev/null
echo "statement: $html"
echo "screenshot: $out/$rep.png"
echo "print: $out/$rep.pdf"
if command -v pdfinfo >/dev/null; then
    pdfinfo "$out/$rep.pdf" | grep -E '^(Pages|Page size)'
fi
