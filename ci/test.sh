#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, runs ctest.
# Everything but the 'slow' label runs; run those with: ctest --test-dir build -L slow
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSP_WERROR=ON -DBUILD_TESTING=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -LE slow --output-on-failure -j"$jobs"
