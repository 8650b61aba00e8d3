#!/usr/bin/env bash
# The test command: installs what is missing, then runs every check CI enforces, in this order:
#   1. clang-format --dry-run -Werror on every C source and header (the committed .clang-format)
#   2. banned functions (ci/checksrc.sh), then cppcheck on client/ common/ server/ (any finding
#      fails)
#   3. Release build with -Werror (man pages included); ctest, all labels but 'slow' (docs:
#      ci/check-man.sh, --help against the man pages and completions; browser: headless
#      Chromium loads the mock's dashboard)
#   4. a shared libstreamput exports exactly the functions streamput.h declares (nm -D)
#   5. the Debian packages: built, installed, used by examples/consumer (pkg-config, CMake and
#      its mock fixture), purged without a trace (ci/check-packages.sh; needs root or sudo)
#   6. Debug build with -fsanitize=address,undefined (leaks detected, UBSan halting); the same
#      ctest run; any sanitizer report from any process (mock and client included) fails
#   7. valgrind memcheck on the 'unit' suites (ctest -T memcheck, CK_FORK=no)
#   8. every fuzz target under libFuzzer for a few seconds (clang; SP_FUZZ_SECONDS, default 8)
# The 'slow' label (4 GiB transfers) never runs here; run it with: ctest --test-dir build -L slow
# Build directories can be moved with SP_BUILD_DIR, SP_ASAN_DIR and SP_PKG_DIR (defaults build,
# build-asan, build-pkg).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh --ci --bench --package # --bench: the bench_smoke test runs instead of skipping
jobs=$(nproc 2>/dev/null || echo 2)
rel=${SP_BUILD_DIR:-build}
asan=${SP_ASAN_DIR:-build-asan}
export CK_VERBOSITY=${CK_VERBOSITY:-normal}
# This is CI: the browser test fails here, rather than skips, when chromium is missing.
export CI=${CI:-true}

t0=$SECONDS
stage_t0=$SECONDS
stage() {
  echo "ci: ${1} (at $((SECONDS - t0)) s)"
  stage_t0=$SECONDS
}
done_stage() {
  echo "ci: ${1} took $((SECONDS - stage_t0)) s"
}

stage "clang-format"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t sources < <(git ls-files '*.c' '*.h')
else
  mapfile -t sources < <(find client common server tests bench -name '*.[ch]')
fi
clang-format --dry-run -Werror "${sources[@]}"
done_stage "clang-format (${#sources[@]} files)"

stage "checksrc"
bash ci/checksrc.sh "${sources[@]}"
done_stage "checksrc"

stage "cppcheck"
# warning, performance and portability findings (and errors, always on) fail the build. Not
# enabled: style, whose unusedFunction flags the public API and variableScope is taste.
# Suppressed, with the reason:
#   readdirCalled   readdir_r is deprecated by glibc; readdir is safe on a DIR of one's own
cppcheck -q --std=c11 --library=posix --enable=warning,performance,portability \
  --inline-suppr --error-exitcode=1 -D_GNU_SOURCE \
  --suppress=readdirCalled \
  -I client/include -I common/include -I client/src -I server/src \
  client common server
done_stage "cppcheck"

stage "release build and tests"
# -g only adds debug info, so that a valgrind report below names files and lines.
cmake -S . -B "$rel" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g -DSP_WERROR=ON \
  -DSP_SANITIZE=OFF -DBUILD_TESTING=ON >/dev/null
cmake --build "$rel" -j"$jobs"
ctest --test-dir "$rel" -LE slow --output-on-failure -j"$jobs"
done_stage "release build and tests"

stage "shared library exports"
bash ci/check-exports.sh "${SP_SHARED_DIR:-build-shared}"
done_stage "shared library exports"

stage "Debian packages"
bash ci/check-packages.sh "${SP_PKG_DIR:-build-pkg}"
done_stage "Debian packages"

stage "sanitizer build and tests"
cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DSP_WERROR=ON -DSP_SANITIZE=ON \
  -DBUILD_TESTING=ON >/dev/null
cmake --build "$asan" -j"$jobs"
# Reports go to files, one per process: the mock's stderr is drained by the tests, so a report
# there would otherwise be lost. Any file at all fails the run. The bench smoke test is left out:
# it runs the programs under strace, where LeakSanitizer cannot work, and times nothing useful.
logs="$PWD/$asan/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
status=0
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$logs/asan" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" \
  ctest --test-dir "$asan" -LE slow -E '^bench_' --output-on-failure -j"$jobs" || status=$?
if compgen -G "$logs/*" >/dev/null; then
  echo "ci: sanitizer reports:" >&2
  for f in "$logs"/*; do
    echo "---- $f" >&2
    cat "$f" >&2
  done
  status=1
fi
[ "$status" -eq 0 ] || exit "$status"
done_stage "sanitizer build and tests"

stage "valgrind memcheck on the unit suites"
# ctest's memcheck runs each test's own command line under valgrind; --error-exitcode turns any
# memcheck error or definite/indirect leak into a failed test. CK_FORK=no keeps Check's test
# bodies in the process valgrind watches.
status=0
CK_FORK=no ctest --test-dir "$rel" -L unit -T memcheck --output-on-failure \
  --overwrite MemoryCheckCommandOptions="--error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect" || status=$?
if [ "$status" -ne 0 ]; then
  for f in "$rel"/Testing/Temporary/MemoryChecker.*.log; do
    if grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' "$f"; then
      echo "---- $f" >&2
      cat "$f" >&2
    fi
  done
  exit "$status"
fi
done_stage "valgrind"

stage "fuzz smoke runs"
# Every fuzz target under libFuzzer (clang, ASan + UBSan) for SP_FUZZ_SECONDS each, starting from
# the committed corpus; a crash, leak, timeout or failed property fails CI. The other builds
# above already replayed the corpus with the plain driver.
bash ci/install-deps.sh --fuzz
fuzz=${SP_FUZZ_DIR:-build-fuzz}
cmake -S . -B "$fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_FUZZ=ON \
  -DSP_FUZZ_SECONDS="${SP_FUZZ_SECONDS:-8}" -DBUILD_TESTING=ON >/dev/null
mapfile -t fuzzers < <(sed -n 's/^sp_add_fuzz(\([a-z_]*\).*/fuzz_\1/p' tests/fuzz/CMakeLists.txt)
cmake --build "$fuzz" -j"$jobs" --target "${fuzzers[@]}"
ctest --test-dir "$fuzz" -R '^fuzz_.*_smoke$' --output-on-failure -j"$jobs"
done_stage "fuzz smoke runs (${#fuzzers[@]} targets)"

echo "ci: all checks passed in $((SECONDS - t0)) s"
