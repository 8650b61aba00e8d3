#!/usr/bin/env bash
# Installs the Debian packages streamput needs to build, test and benchmark. Idempotent and quiet
# when everything is already there; runs apt-get update before installing anything.
#   ci/install-deps.sh            build + test dependencies (python3-pytest: python/tests;
#                                 scdoc: the man pages)
#   ci/install-deps.sh --bench    also the benchmark tools (curl, nginx, socat, gnuplot, strace, python3)
#   ci/install-deps.sh --ci       also the CI checkers (valgrind, cppcheck, clang-format) and
#                                 chromium, which the browser test of the dashboard drives
#   ci/install-deps.sh --fuzz     also clang and its libFuzzer/sanitizer runtimes
#   ci/install-deps.sh --package  also what `--target package` runs (dpkg-shlibdeps, file)
set -euo pipefail

pkgs=(gcc make cmake pkg-config libmicrohttpd-dev check libhttp-parser-dev libcjson-dev libssl-dev libgnutls28-dev openssl
      python3-pytest scdoc)
for arg in "$@"; do
  case "$arg" in
    --bench) pkgs+=(curl nginx-light socat gnuplot-nox strace python3) ;;
    --ci) pkgs+=(valgrind cppcheck clang-format chromium) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --package) pkgs+=(dpkg-dev file) ;;
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
# nginx is a tool here, started by the benchmark on a loopback port of its own: keep Debian from
# starting its default site on port 80 while installing, unless a policy is already in place.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=1
fi
status=0
"${sudo[@]}" apt-get update -qq && \
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
[ -n "$own_policy" ] && "${sudo[@]}" rm -f "$policy"
exit "$status"
