#!/usr/bin/env bash
# Installs the Debian packages streamput needs to build, test and benchmark. Idempotent and quiet
# when everything is already there; runs apt-get update before installing anything.
#   ci/install-deps.sh            build + test dependencies
#   ci/install-deps.sh --bench    also the benchmark tools (curl, nginx, socat, gnuplot, strace, python3)
#   ci/install-deps.sh --ci       also the CI checkers (valgrind, cppcheck, clang-format)
#   ci/install-deps.sh --fuzz     also clang and its libFuzzer/sanitizer runtimes
set -euo pipefail

pkgs=(gcc make cmake pkg-config libmicrohttpd-dev check libhttp-parser-dev libcjson-dev libssl-dev)
for arg in "$@"; do
  case "$arg" in
    --bench) pkgs+=(curl nginx-light socat gnuplot-nox strace python3) ;;
    --ci) pkgs+=(valgrind cppcheck clang-format) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
