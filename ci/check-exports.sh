#!/usr/bin/env bash
# Builds libstreamput as a shared library and checks that it exports exactly the functions the
# public header marks SP_EXTERN: an internal sp__ helper that leaks becomes ABI that users link
# against, and a public name that does not export is a broken promise.
# Usage: bash ci/check-exports.sh [BUILD_DIR]   (default build-shared)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-shared}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF \
  -DSP_WERROR=ON -DSP_SANITIZE=OFF >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target streamput >/dev/null
lib=$(find "$dir/client" -maxdepth 1 -name 'libstreamput.so.*.*' | head -n 1)
[ -n "$lib" ] || { echo "check-exports: no shared libstreamput in $dir" >&2; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
# Every function the header declares, marked or not, so a forgotten SP_EXTERN shows as missing.
declared=$(grep -v '^typedef' client/include/streamput.h |
  sed -n 's/^\(SP_EXTERN \)\{0,1\}[a-z_ ]*[ *]\(sp_[a-z0-9_]*\)(.*/\2/p' | sort)
if [ "$exported" != "$declared" ]; then
  echo "check-exports: $lib exports differ from the functions streamput.h declares" >&2
  diff <(echo "$declared") <(echo "$exported") | sed 's/^</  declared only:/; s/^>/  exported only:/' >&2 || true
  exit 1
fi
echo "check-exports: $(echo "$exported" | wc -l) symbols, all sp_*, exactly the public header"
