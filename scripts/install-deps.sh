#!/usr/bin/env bash
# Installs fedrad's build and test dependencies from Debian 12 packages.
# Runs apt-get as root (directly, or through sudo when started by a user).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libzmq3-dev cppzmq-dev        # ZeroMQ + CurveZMQ, C++ bindings
  libsodium-dev                 # keys, signatures, randomness
  libssl-dev                    # libcrypto: SHA-256 with the CPU's SHA extensions
  libeigen3-dev                 # linear algebra for the solvers
  libopencv-dev                 # image input for radiomics
  nlohmann-json3-dev            # configs and message metadata
  libcli11-dev                  # command-line parsing
  libgtest-dev                  # tests
  r-cran-glmnet                 # tests: reference LASSO path (Rscript + glmnet)
  liblinear-tools               # tests: reference squared-hinge SVM (liblinear-train -s 2)
  r-cran-proc                   # tests: reference ROC/DeLong (pROC)
  chromium                      # tests: renders report.html headless (report_render)
)

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: installed ${#packages[@]} packages"
