#!/usr/bin/env bash
# Renders the sample report.html in headless Chromium, as a person would see
# it (issue 6): the page must load and screenshot without error, and the
# parsed DOM must still hold every SVG chart and polyline the file has.
#
# usage: render_test.sh FEDRAD_REPORT_SAMPLE OUT_DIR
# Exit 77 (ctest SKIP_RETURN_CODE) only when chromium is not installed.
set -euo pipefail

sample=$1
out=$2
# The sample has 3 models: one polyline each on the CV ROC chart, the
# external ROC chart and the external calibration chart.
expected_polylines=9
expected_roc_charts=2

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIP: chromium is not installed (Debian: apt-get install chromium; scripts/install-deps.sh)"
  exit 77
fi

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$out"
mkdir -p "$out/profile"
"$sample" "$out" >"$out/table.txt"
html="$out/report.html"
[ -s "$html" ] || fail "$sample wrote no $html"

# Headless, no network, a throw-away profile; the file must need nothing else.
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions
  --disable-background-networking --disable-sync --disable-component-update
  --user-data-dir="$out/profile" --window-size=1200,2000)

start=$(date +%s.%N)
if ! timeout 50 "$chromium" "${flags[@]}" --screenshot="$out/report.png" "file://$html" \
  >"$out/screenshot.log" 2>&1; then
  cat "$out/screenshot.log" >&2
  fail "chromium --screenshot exited with an error"
fi
[ -s "$out/report.png" ] || fail "no screenshot written"
signature=$(head -c 8 "$out/report.png" | od -An -tx1 | tr -d ' \n')
[ "$signature" = "89504e470d0a1a0a" ] || fail "report.png is not a PNG (signature $signature)"
# IHDR width and height (big-endian at bytes 16..23).
width=$((16#$(od -An -tx1 -j16 -N4 "$out/report.png" | tr -d ' \n')))
height=$((16#$(od -An -tx1 -j20 -N4 "$out/report.png" | tr -d ' \n')))
[ "$width" -gt 0 ] && [ "$height" -gt 0 ] || fail "empty screenshot (${width}x${height})"
png_bytes=$(stat -c %s "$out/report.png")
# A blank 1200x2000 page compresses to a few kB; text, tables and charts do not.
[ "$png_bytes" -gt 40000 ] || fail "screenshot looks blank ($png_bytes bytes)"

if ! timeout 50 "$chromium" "${flags[@]}" --dump-dom "file://$html" >"$out/dom.html" \
  2>"$out/dump-dom.log"; then
  cat "$out/dump-dom.log" >&2
  fail "chromium --dump-dom exited with an error"
fi
end=$(date +%s.%N)

# Occurrences of a pattern (0 when absent: grep's status 1 is not an error).
count() { { grep -o -- "$1" "$2" || true; } | wc -l; }
file_polylines=$(count '<polyline' "$html")
dom_polylines=$(count '<polyline' "$out/dom.html")
dom_roc=$(count '<svg class="chart roc"' "$out/dom.html")
dom_svgs=$(count '<svg' "$out/dom.html")
file_svgs=$(count '<svg' "$html")
dom_tables=$(count '<table' "$out/dom.html")
[ "$file_polylines" -eq "$expected_polylines" ] ||
  fail "report.html has $file_polylines polylines, expected $expected_polylines"
[ "$dom_polylines" -eq "$expected_polylines" ] ||
  fail "the parsed DOM has $dom_polylines polylines, expected $expected_polylines"
[ "$dom_roc" -eq "$expected_roc_charts" ] ||
  fail "the parsed DOM has $dom_roc ROC charts, expected $expected_roc_charts"
[ "$dom_svgs" -eq "$file_svgs" ] || fail "DOM has $dom_svgs <svg>, the file $file_svgs"
# Every polyline in the DOM has a non-empty points list.
empty=$(count '<polyline[^>]*points=""' "$out/dom.html")
[ "$empty" -eq 0 ] || fail "$empty polylines without points in the DOM"
grep -q 'combined AUC 0.811 \[0.77, 0.85\]' "$out/dom.html" || fail "ROC legend text missing"

printf 'PASS: screenshot %sx%s (%s bytes), DOM: %s svg (%s ROC), %s polylines, %s tables; %.1f s\n' \
  "$width" "$height" "$png_bytes" "$dom_svgs" "$dom_roc" "$dom_polylines" "$dom_tables" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
