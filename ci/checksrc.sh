#!/usr/bin/env bash
# Fails when a C source or header calls a function the project bans, as curl's checksrc does:
# each has a bounded replacement (snprintf, memcpy with a length, strtoull with checks), and a
# banned call that slips into a parser is the kind of bug the fuzzers find late.
# Usage: bash ci/checksrc.sh [FILE...]   (default: every tracked *.c and *.h)
set -euo pipefail
cd "$(dirname "$0")/.."
banned='sprintf|vsprintf|strcpy|strcat|strtok|atoi|gets'
if [ "$#" -gt 0 ]; then
  files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
else
  mapfile -t files < <(find client common server tests bench -name '*.[ch]')
fi
# A word boundary before the name keeps snprintf, vsnprintf and strtoull out of the match.
if grep -nE "\\b(${banned})[[:space:]]*\\(" "${files[@]}"; then
  echo "checksrc: banned function called above (use snprintf, memcpy with lengths, strtoull)" >&2
  exit 1
fi
echo "checksrc: ${#files[@]} files, no banned function"
