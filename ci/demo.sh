#!/usr/bin/env bash
# The demo: builds, starts streamput-mock on a free loopback port with a temporary root, streams a
# generated file through streamput, verifies the stored copy byte for byte and prints the
# throughput. Size with DEMO_SIZE (default 256M, at least 64M makes sense).
set -euo pipefail
cd "$(dirname "$0")/.."

size=${DEMO_SIZE:-256M}
bash ci/install-deps.sh
# Configure without touching cached options a developer set, and build only the two programs.
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target streamput_cli streamput_mock >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/streamput-demo.XXXXXX")
mock_pid=
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/root"

echo "demo: generating a $size file of random bytes"
head -c "$size" /dev/urandom >"$work/big.bin"

build/bin/streamput-mock --listen 127.0.0.1:0 --root "$work/root" >"$work/mock.out" 2>"$work/mock.log" &
mock_pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$work/mock.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^streamput-mock listening on \(http:[^ ]*\)$/\1/p' "$work/mock.out" | head -n1)
[ -n "$url" ] || { echo "demo: streamput-mock did not start" >&2; cat "$work/mock.log" >&2; exit 1; }
echo "demo: streamput-mock is at $url (root $work/root)"

build/bin/streamput --no-progress -p /demo/big.bin "$work/big.bin" "${url}api/fs/put"

if cmp -s "$work/big.bin" "$work/root/demo/big.bin"; then
  echo "demo: verified: stored file is byte-identical ($(sha256sum <"$work/big.bin" | cut -c1-16)...)"
else
  echo "demo: FAILED: stored file differs from the source" >&2
  exit 1
fi
