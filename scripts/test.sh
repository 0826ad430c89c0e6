#!/usr/bin/env bash
# Builds fedrad with warnings as errors and runs every test (unit, fuzz seed
# corpus replay, multi-process integration on 127.0.0.1).
#   BUILD_DIR  build directory (default: build)
#   JOBS       parallel build/test jobs (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-2}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFEDRAD_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 300
