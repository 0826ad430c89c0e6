#!/usr/bin/env bash
# Builds fedrad and runs `fedrad demo` (docs/demo.md): a synthetic
# consortium, a coordinator and one site agent per hospital on 127.0.0.1,
# the whole study, results, report and audit verification.
#   BUILD_DIR  build directory (default: build)
#   JOBS       parallel build jobs (default: 2)
# Arguments are passed to `fedrad demo` (e.g. --out DIR --force --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "${JOBS:-2}" --target fedrad
exec "$build_dir/tools/fedrad" demo "$@"
