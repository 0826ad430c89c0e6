#!/usr/bin/env bash
# Federated study cost benchmark (issue 4, item 6): builds fedrad_bench_study
# (RelWithDebInfo) and runs it: a nested 5-fold CV study of 3 models
# (clinical 10, radiomics 1,000, combined 1,010 columns), 100 lambdas, a
# 10-value C grid and Platt scaling, N = 300 over 4 in-process sites, then
# the same estimator on the pooled rows (1 site) in the same process. Prints
# rounds, bytes per site, both wall times and their ratio.
#
#   bench/run_study_bench.sh [BUILD_DIR] [--quick] [other fedrad_bench_study options]
#
# Defaults: BUILD_DIR build-bench next to the source tree. --quick runs a
# smaller study (N = 150, 200 radiomics columns, 30 lambdas, 3 folds) for
# development.
set -euo pipefail

src_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${src_dir}/../build-bench"
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -*) args+=("$1"); shift ;;
    *)
      if [[ ${#args[@]} -gt 0 && "${args[-1]}" != "--quick" && "${args[-1]}" != "--progress" ]]; then
        args+=("$1")  # the value of the previous option
      else
        build_dir="$1"
      fi
      shift ;;
  esac
done
jobs_build="$(nproc 2>/dev/null || echo 2)"

echo "== build (${build_dir})"
cmake -S "${src_dir}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "${build_dir}" -j"${jobs_build}" --target fedrad_bench_study > /dev/null

echo "== study benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc 2>/dev/null || echo '?') cores)"
"${build_dir}/bench/fedrad_bench_study" "${args[@]+"${args[@]}"}"
