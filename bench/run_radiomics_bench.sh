#!/usr/bin/env bash
# Radiomics benchmark (issue 3, item 9): builds the project (RelWithDebInfo),
# runs fedrad_bench_radiomics (per-image time on one thread, memory), then
# `fedrad extract --jobs 1` vs `--jobs 2` over a generated cohort and prints a
# summary. Takes a few minutes on a 2-core machine.
#
#   bench/run_radiomics_bench.sh [BUILD_DIR] [--repeat N] [--cases N]
#
# Defaults: BUILD_DIR build-bench next to the source tree, 30 repeats, 40
# cases. The cohort and feature tables go to BUILD_DIR/bench-cohort/.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${src_dir}/../build-bench"
repeat=30
cases=40
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build_dir="$1"; shift ;;
  esac
done
jobs_build="$(nproc 2>/dev/null || echo 2)"

echo "== build (${build_dir})"
cmake -S "${src_dir}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "${build_dir}" -j"${jobs_build}" \
  --target fedrad fedrad_bench_radiomics fedrad_make_cohort > /dev/null

fedrad="$(find "${build_dir}" -name fedrad -type f -perm -u+x | head -n 1)"
bench="${build_dir}/bench/fedrad_bench_radiomics"
make_cohort="${build_dir}/bench/fedrad_make_cohort"

echo "== per-image benchmark (${repeat} runs)"
bench_out="$("${bench}" --repeat "${repeat}")"
echo "${bench_out}"
echo "== per-image benchmark with the extract workers' allocator setting (--tuned-malloc)"
bench_tuned="$("${bench}" --repeat "${repeat}" --tuned-malloc)"
echo "${bench_tuned}"

echo "== fedrad extract throughput (${cases} cases)"
cohort="${build_dir}/bench-cohort"
rm -rf "${cohort}"
"${make_cohort}" "${cohort}" --cases "${cases}"

# Runs one extract; prints "seconds peak_rss_mb".
run_extract() {
  local jobs="$1"
  local out="${cohort}/features_j${jobs}.csv"
  local start end
  local timer=()
  # GNU time reports the peak RSS; without it the RSS column reads 0.
  echo 0 > "${cohort}/rss_j${jobs}.txt"
  if [[ -x /usr/bin/time ]]; then timer=(/usr/bin/time -f "%M" -o "${cohort}/rss_j${jobs}.txt"); fi
  start="$(date +%s.%N)"
  "${timer[@]}" "${fedrad}" extract --manifest "${cohort}/cohort.csv" --out "${out}" --jobs "${jobs}" \
    > "${cohort}/log_j${jobs}.txt" 2>&1
  end="$(date +%s.%N)"
  awk -v s="${start}" -v e="${end}" -v kib="$(tail -n 1 "${cohort}/rss_j${jobs}.txt")" \
    'BEGIN { printf "%.2f %.1f\n", e - s, kib / 1024 }'
}

read -r t1 rss1 < <(run_extract 1)
read -r t2 rss2 < <(run_extract 2)
if ! cmp -s "${cohort}/features_j1.csv" "${cohort}/features_j2.csv"; then
  echo "ERROR: --jobs 1 and --jobs 2 feature tables differ" >&2
  exit 1
fi

echo "== summary"
echo "${bench_out}" | grep -E "^per image|^peak RSS|^RSS"
echo "${bench_tuned}" | grep -E "^per image|^peak RSS"
awk -v n="${cases}" -v t1="${t1}" -v t2="${t2}" -v r1="${rss1}" -v r2="${rss2}" 'BEGIN {
  printf "extract --jobs 1: %.2f s, %.1f cases/s, %.1f ms/case, peak RSS %.1f MB\n", t1, n / t1, 1000 * t1 / n, r1
  printf "extract --jobs 2: %.2f s, %.1f cases/s, %.1f ms/case, peak RSS %.1f MB\n", t2, n / t2, 1000 * t2 / n, r2
  printf "speed-up jobs 2 vs 1: %.2fx; RSS increment of the second worker: %.1f MB\n", t1 / t2, r2 - r1
}'
echo "(the extract times include process start, PNG decoding and file hashing;" \
  "tables of --jobs 1 and 2 are identical)"
