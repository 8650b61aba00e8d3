#!/usr/bin/env bash
# Builds the Debian packages (streamput, streamput-mock, libstreamput-dev), installs them on this
# machine and checks them as a user would meet them:
#   - each command's man page and bash completion are in its package;
#   - streamput --version and streamput-mock --help run from PATH;
#   - examples/consumer builds against the installed files only, with pkg-config (its Makefile)
#     and with find_package(streamput 0.2 REQUIRED), and its ctest, which runs the mock as the
#     streamput_add_mock() fixture, passes for both builds;
#   - after dpkg --purge, every file the packages had installed is gone and neither command is
#     on PATH.
# Packages of these names installed before are purged as well (their files are the packages' own).
# Needs root or sudo (dpkg). Usage: bash ci/check-packages.sh [BUILD_DIR]   (default build-pkg)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
dir=${1:-build-pkg}
jobs=$(nproc 2>/dev/null || echo 2)
packages=(streamput streamput-mock libstreamput-dev)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "check-packages: need root or sudo for dpkg" >&2; exit 1; }
  sudo=(sudo)
fi
fail() {
  echo "check-packages: $*" >&2
  exit 1
}

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
  -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DSP_WERROR=ON -DSP_SANITIZE=OFF >/dev/null
rm -f "$dir"/*.deb
cmake --build "$dir" -j"$jobs" --target package >/dev/null
debs=()
for p in "${packages[@]}"; do
  deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb")
  [ -n "$deb" ] || fail "no ${p}_*.deb in $dir"
  debs+=("$deb")
  echo "---- dpkg -c $deb"
  dpkg -c "$deb"
done
# Each command's man page and bash completion come in the command's own package.
for cmd in streamput streamput-mock; do
  deb=$(find "$dir" -maxdepth 1 -name "${cmd}_*.deb")
  for f in "./usr/share/man/man1/$cmd.1.gz" "./usr/share/bash-completion/completions/$cmd"; do
    dpkg-deb -c "$deb" | awk -v f="$f" '$6 == f { found = 1 } END { exit !found }' ||
      fail "$deb holds no $f"
  done
done

was_installed=()
for p in "${packages[@]}"; do
  if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"ok installed" ]]; then
    was_installed+=("$p")
  fi
done
[ ${#was_installed[@]} -eq 0 ] ||
  echo "check-packages: already installed, replaced and purged at the end: ${was_installed[*]}"
# What PATH gives without the packages, to find again after the purge (an older package's
# /usr/bin copy is theirs, so it does not count).
hash -r
declare -A before
for cmd in streamput streamput-mock; do
  before[$cmd]=$(type -P "$cmd" || true)
  [ "${before[$cmd]}" != "/usr/bin/$cmd" ] || before[$cmd]=
done

work=$(mktemp -d)
installed=
# Whatever fails, the packages do not stay on the machine.
cleanup() {
  if [ -n "$installed" ]; then
    "${sudo[@]}" dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

installed=1
"${sudo[@]}" dpkg -i "${debs[@]}" >/dev/null
hash -r
for cmd in streamput streamput-mock; do
  [ "$(type -P "$cmd")" = "/usr/bin/$cmd" ] || fail "$cmd on PATH is '$(type -P "$cmd")'"
done
version=$(streamput --version)
echo "check-packages: streamput --version: $version"
[ "$version" = "streamput $(dpkg-query -W -f='${Version}' streamput)" ] ||
  fail "streamput --version says '$version'"
streamput-mock --help >/dev/null || fail "streamput-mock --help failed"
# The library is needed in full: grep -q would leave ldd writing to a closed pipe (pipefail).
needs_libstreamput() {
  [[ $(ldd "$1") =~ libstreamput\.so\.[0-9.]+\ =\>\ / ]] ||
    fail "$1 does not run on the shared libstreamput: $(ldd "$1")"
}
needs_libstreamput /usr/bin/streamput

# The consumer, away from the source tree's build directories: pkg-config first, then CMake,
# whose ctest also runs the pkg-config build.
(cd "$work" && make -s -f "$src/examples/consumer/Makefile" CFLAGS="-O2 -Wall -Wextra -Werror")
cmake -S examples/consumer -B "$work/consumer" -DUPLOAD_PKGCONFIG="$work/upload-pc" >/dev/null
found=$(sed -n 's/^streamput_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")
[ "$found" = "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/cmake/streamput" ] ||
  fail "find_package(streamput) found $found, not the package's CMake files"
cmake --build "$work/consumer" >/dev/null
ctest --test-dir "$work/consumer" --output-on-failure --timeout 60
needs_libstreamput "$work/consumer/upload"
needs_libstreamput "$work/upload-pc"

mapfile -t files < <(dpkg -L "${packages[@]}" | sort -u)
"${sudo[@]}" dpkg --purge "${packages[@]}" >/dev/null
installed=
hash -r
left=()
for f in "${files[@]}"; do
  # Directories such as /usr/bin stay for the other packages that own them; the package's own
  # directories (named after streamput) must go with their files.
  if [ -L "$f" ] || { [ -e "$f" ] && { [ ! -d "$f" ] || [[ $f == *streamput* ]]; }; }; then
    left+=("$f")
  fi
done
[ ${#left[@]} -eq 0 ] || fail "left after dpkg --purge: ${left[*]}"
for cmd in streamput streamput-mock; do
  [ "$(type -P "$cmd" || true)" = "${before[$cmd]}" ] ||
    fail "$cmd on PATH after the purge is $(type -P "$cmd"), before it was '${before[$cmd]}'"
done
echo "check-packages: ${#debs[@]} packages built, installed, used and purged (${#files[@]} paths gone)"
