#!/usr/bin/env bash
# `fedrad demo` wall time and memory (issue 7, item 4: <= 2 minutes on a
# 2-core machine, extraction included). Runs the full demo (default
# consortium: 224 training cases at 3 sites, 54 external at 1 site) under
# /usr/bin/time -v and prints its wall time and the demo process's peak RSS,
# then the CPU time and peak RSS of each party from the demo's own children
# (the largest child's RSS is what GNU time reports for the tree).
#
#   bench/run_demo_bench.sh BUILD_DIR [extra fedrad demo options, e.g. --quick]
#
# BUILD_DIR must hold a built `tools/fedrad` (cmake --build BUILD_DIR --target fedrad).
# The demo folder is written to a temporary directory and removed afterwards.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [fedrad demo options]" >&2
  exit 2
fi
build_dir="$1"
shift
fedrad="$(cd "${build_dir}" && pwd)/tools/fedrad"
[[ -x "${fedrad}" ]] || { echo "no fedrad binary at ${fedrad}" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fedrad: $("${fedrad}" version)"
status=0
/usr/bin/time -v -o "${work}/time.txt" "${fedrad}" demo --out "${work}/demo" "$@" \
  >"${work}/demo.out" 2>"${work}/demo.err" || status=$?
tail -n 30 "${work}/demo.out"
if [[ ${status} -ne 0 ]]; then
  echo "fedrad demo failed (exit ${status}):" >&2
  cat "${work}/demo.err" >&2
  exit "${status}"
fi
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "${work}/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "${work}/time.txt")
user=$(sed -n 's/.*User time (seconds): //p' "${work}/time.txt")
sys=$(sed -n 's/.*System time (seconds): //p' "${work}/time.txt")
echo
echo "== fedrad demo $*"
echo "wall time:            ${wall} (target <= 2:00)"
echo "CPU time (all):       user ${user} s, system ${sys} s"
echo "peak RSS (largest process of the tree): $((rss / 1024)) MiB"
echo "rounds:               $(grep -o '([0-9]* rounds)' "${work}/demo.out" | tr -d '()' || true)"
