#!/usr/bin/env bash
# Checks that the documentation says what the programs do:
#   1. every long option of 'streamput --help' and 'streamput-mock --help' is defined in its man
#      page source (doc/NAME.1.scd) and its bash completion (completions/NAME), and nothing else
#      is; and the three agree on which options take a value
#   2. the exit codes of client/src/tool.h, 'streamput --help', streamput(1) and README.md's
#      table are the same; the fault names of 'streamput-mock --help', streamput-mock(1) and
#      the completion too
#   3. the completions complete: sourced in a bare 'bash --norc' (no bash-completion package),
#      with COMP_WORDS and COMP_CWORD set as bash sets them
#   4. a negative control: the same comparison on a man page with one option taken out fails
#      and names that option
#   ci/check-man.sh [BIN_DIR]        BIN_DIR holds the built programs (default: build/bin)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build/bin}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
  echo "check-man: $*" >&2
  failures=$((failures + 1))
}

# The long options --help defines: lines "  -x, --name ..." or "      --name ..." (streamput) and
# "  --name ..." (streamput-mock); with "value", only those followed by their value's name.
help_options() {
  local re='^  (-[[:alnum:]], |    )?(--[a-z0-9][a-z0-9-]*)'
  [ "${2-}" = value ] && re+=' [^ ]'
  sed -nE "s/${re}.*/\\2/p" "$1" | LC_ALL=C sort -u
}

# The short options --help pairs with long ones, as "-x/--name"; with "value", those that take one.
help_shorts() {
  local re='^  (-[[:alnum:]]), (--[a-z0-9][a-z0-9-]*)'
  [ "${2-}" = value ] && re+=' [^ ]'
  sed -nE "s|${re}.*|\\1/\\2|p" "$1" | LC_ALL=C sort -u
}

# The long options a man page source defines: its definition lines, "*-x*, *--name* _ARG_" or
# "*--name*" at the start of a line; with "value", only those followed by an argument.
man_options() {
  local re='^\*(-[[:alnum:]]\*, \*)?(--[a-z0-9][a-z0-9-]*)\*'
  [ "${2-}" = value ] && re+=' [^ ]'
  sed -nE "s/${re}.*/\\2/p" "$1" | LC_ALL=C sort -u
}

# The long options a completion file lists: its _NAME_opts_value (and _NAME_opts_flag) variables.
completion_options() {
  local var=$2 kind=${3-all}
  bash --norc --noprofile -c '
    source "$1" >/dev/null || exit 1
    v=${2}_opts_value f=${2}_opts_flag
    if [ "$3" = value ]; then words=${!v}; else words="${!v} ${!f}"; fi
    printf "%s\n" $words' _ "$1" "$var" "$kind" | LC_ALL=C sort -u
}

# Reports each line of list file $2 missing from list file $4, and the other way round, for
# what $1 and $3 name. Returns 1 if the lists differ.
same_lists() {
  local a=$1 la=$2 b=$3 lb=$4 what=$5 x rc=0
  for x in $(LC_ALL=C comm -23 "$la" "$lb"); do
    fail "$what $x is in $a but not in $b"
    rc=1
  done
  for x in $(LC_ALL=C comm -13 "$la" "$lb"); do
    fail "$what $x is in $b but not in $a"
    rc=1
  done
  return $rc
}

# Part 1 for one program: its --help output in $2, its man source $3, its completion $4.
check_options() {
  local cmd=$1 help=$2 man=$3 comp=$4 var=${1//-/_} rc=0
  help_options "$help" >"$tmp/help.all"
  help_options "$help" value >"$tmp/help.value"
  man_options "$man" >"$tmp/man.all"
  man_options "$man" value >"$tmp/man.value"
  completion_options "$comp" "_$var" >"$tmp/comp.all"
  completion_options "$comp" "_$var" value >"$tmp/comp.value"
  if [ "$(wc -l <"$tmp/help.all")" -lt 5 ]; then
    fail "$cmd --help: found only $(wc -l <"$tmp/help.all") options; has its layout changed?"
    return 1
  fi
  same_lists "'$cmd --help'" "$tmp/help.all" "${man#"$root"/}" "$tmp/man.all" option || rc=1
  help_shorts "$help" >"$tmp/help.short"
  sed -nE 's|^\*(-[[:alnum:]])\*, \*(--[a-z0-9][a-z0-9-]*)\*.*|\1/\2|p' "$man" | LC_ALL=C sort -u \
    >"$tmp/man.short"
  same_lists "'$cmd --help'" "$tmp/help.short" "${man#"$root"/}" "$tmp/man.short" \
    "short option" || rc=1
  # The completion needs the short options that take a value, to complete that value.
  help_shorts "$help" value >"$tmp/help.short"
  bash --norc --noprofile -c 'source "$1" >/dev/null && v=${2}_short_value &&
    printf "%s\n" ${!v-} | tr : /' _ "$comp" "_$var" | LC_ALL=C sort -u >"$tmp/comp.short"
  same_lists "'$cmd --help'" "$tmp/help.short" "${comp#"$root"/}" "$tmp/comp.short" \
    "short option taking a value:" || rc=1
  same_lists "'$cmd --help'" "$tmp/help.all" "${comp#"$root"/}" "$tmp/comp.all" option || rc=1
  # Whether an option takes a value is compared where the option is in both, so that a missing
  # option is reported once.
  local other file
  for other in man comp; do
    file=$man
    [ $other = comp ] && file=$comp
    LC_ALL=C comm -12 "$tmp/help.all" "$tmp/$other.all" >"$tmp/both"
    LC_ALL=C comm -12 "$tmp/help.value" "$tmp/both" >"$tmp/help.both"
    LC_ALL=C comm -12 "$tmp/$other.value" "$tmp/both" >"$tmp/$other.both"
    same_lists "'$cmd --help'" "$tmp/help.both" "${file#"$root"/}" "$tmp/$other.both" \
      "option taking a value:" || rc=1
  done
  return $rc
}

for cmd in streamput streamput-mock; do
  if ! "$bin/$cmd" --help >"$tmp/$cmd.help"; then
    fail "$bin/$cmd --help failed"
    continue
  fi
  check_options "$cmd" "$tmp/$cmd.help" "$root/doc/$cmd.1.scd" "$root/completions/$cmd" || true
done

# ---- 2. exit codes and fault names ----

# tool.h's enum "TOOL_EXIT_X = N,"; --help's two columns after "Exit codes:" ("  0 success ...
# 6 HTTP ..."); the man page's "*N*" lines under EXIT STATUS; README.md's "| N | ..." rows.
sed -nE 's/^ *TOOL_EXIT_[A-Z]+ = ([0-9]+),.*/\1/p' "$root/client/src/tool.h" | LC_ALL=C sort \
  >"$tmp/exit.h"
sed -n '/^Exit codes:/,/^Success/p' "$tmp/streamput.help" | grep -oE '(^|  )[0-9]+ [^ ]' |
  grep -oE '[0-9]+' | LC_ALL=C sort >"$tmp/exit.help"
sed -n '/^# EXIT STATUS/,/^# [A-Z]/p' "$root/doc/streamput.1.scd" |
  sed -nE 's/^\*([0-9]+)\*$/\1/p' | LC_ALL=C sort >"$tmp/exit.man"
sed -nE 's/^\| ([0-9]+) \|.*/\1/p' "$root/README.md" | LC_ALL=C sort >"$tmp/exit.readme"
[ -s "$tmp/exit.h" ] || fail "no TOOL_EXIT_ codes found in client/src/tool.h"
for f in help man readme; do
  case $f in
  help) name="'streamput --help'" ;;
  man) name=doc/streamput.1.scd ;;
  readme) name="README.md's exit table" ;;
  esac
  same_lists client/src/tool.h "$tmp/exit.h" "$name" "$tmp/exit.$f" "exit code" || true
done

# The fault names: "  name=VALUE" lines of the mock's --help, "*name=*" lines of its man page.
sed -n '/^A fault SPEC/,$p' "$tmp/streamput-mock.help" | sed -nE 's/^  ([a-z][a-z-]*)=.*/\1/p' |
  LC_ALL=C sort -u >"$tmp/fault.help"
sed -nE 's/^\*([a-z][a-z-]*)=\*.*/\1/p' "$root/doc/streamput-mock.1.scd" | LC_ALL=C sort -u \
  >"$tmp/fault.man"
bash --norc --noprofile -c 'source "$1"; printf "%s\n" $_streamput_mock_faults' _ \
  "$root/completions/streamput-mock" | LC_ALL=C sort -u >"$tmp/fault.comp"
[ -s "$tmp/fault.help" ] || fail "no fault names found in 'streamput-mock --help'"
same_lists "'streamput-mock --help'" "$tmp/fault.help" doc/streamput-mock.1.scd "$tmp/fault.man" \
  "fault" || true
same_lists "'streamput-mock --help'" "$tmp/fault.help" completions/streamput-mock \
  "$tmp/fault.comp" "fault" || true

# ---- 3. the completions, run ----

# Prints the sorted replies of completion function $2 from file $1 for the command line $3, typed
# up to the cursor at its end, in a bash without bash-completion, in directory $tmp/w. The line
# is split into COMP_WORDS as bash splits it: at blanks, and with each run of '=' or ':' (both
# in COMP_WORDBREAKS) a word of its own.
complete_line() {
  (cd "$tmp/w" && bash --norc --noprofile -c '
    file=$1 func=$2 line=$3
    source "$file" || exit 1
    if declare -F _init_completion >/dev/null; then
      echo "bash-completion is loaded: this must run without it" >&2
      exit 1
    fi
    COMP_WORDS=()
    for blank_word in $line; do
      mapfile -t -O "${#COMP_WORDS[@]}" COMP_WORDS < <(grep -oE "[=:]+|[^=:]+" <<<"$blank_word")
    done
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    complete -p "${COMP_WORDS[0]}" >/dev/null || exit 1
    "$func" || exit 1
    printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' _ "$@")
}

# expect "REPLIES" "LINE": completing LINE (the command first) gives exactly REPLIES.
expect() {
  local want=$1 line=$2 cmd=${2%% *} got
  got=$(complete_line "$root/completions/$cmd" "_${cmd//-/_}" "$line") || true
  got=${got% }
  if [ "$got" != "$want" ]; then
    fail "completion of '$line<TAB>': got '$got', expected '$want'"
  fi
}

# The fixed values, from where the programs take them: the client's name tables and parser,
# the mock's "--name a|b" in its --help.
words() { grep -oE "$1" "$2" | grep -oE '"[a-z0-9]+"' | tr -d '"' | LC_ALL=C sort | xargs; }
engines=$(words '\{"[a-z]+", SP_ENGINE_' "$root/client/src/tool_main.c")
modes=$(words '\{"[a-z]+", SP_MULTIPART_' "$root/client/src/tool_main.c")
digests=$(words 'strncmp\(p, "[a-z0-9]+"' "$root/client/src/tool_util.c")
choices() { sed -nE "s/^  --$1 ([a-z|]+) .*/\1/p; s/^  --$1 ([a-z|]+)$/\1/p" \
  "$tmp/streamput-mock.help" | tr '|' '\n' | LC_ALL=C sort | xargs; }
profiles=$(choices profile)
formats=$(choices log-format)
for list in engines modes digests profiles formats; do
  [ "$(wc -w <<<"${!list}")" -ge 2 ] || fail "found no $list in the sources to complete with"
done

mkdir -p "$tmp/w/certs" "$tmp/w/store"
touch "$tmp/w/ca.pem" "$tmp/w/disk.img"
expect "--multipart --multipart-chunk-size --multipart-threshold" "streamput --mul"
expect "$modes" "streamput --multipart "
expect "$engines" "streamput --engine="
expect "$digests" "streamput --hash "
expect "sendfile" "streamput --engine=s"
expect "sendfile" "streamput -e s"
expect "md5,sha1 md5,sha256" "streamput --hash md5,s"
expect "ca.pem certs" "streamput --cacert c"
expect "-" "streamput --summary-json=-"
expect "certs store" "streamput --capath "
expect "" "streamput --token "
expect "ca.pem certs disk.img login store" "streamput "
expect "disk.img" "streamput -r d"
expect "--user" "streamput login --use"
expect "" "streamput login -u alice "
expect "$profiles" "streamput-mock --profile "
expect "$formats" "streamput-mock --log-format "
expect "json" "streamput-mock --log-format=j"
expect "--tls-cert --tls-cert-out --tls-key --tls-self-signed" "streamput-mock --tls-"
expect "chunk-busy-ms= chunk-busy=" "streamput-mock --fault chunk-b"
expect "1M,delay-response= 1M,drop-after=" "streamput-mock --fault reset-after=1M,d"
expect "0 5244" "streamput-mock --listen 127.0.0.1:"
expect "certs store" "streamput-mock --root "
expect "ca.pem" "streamput-mock --tls-key ca"
expect "" "streamput-mock --token "

# ---- 4. the negative control ----

# A man page without its first option must fail the comparison, naming that option; else the
# checks above could pass whatever the pages say.
man="$root/doc/streamput.1.scd"
first=$(man_options "$man" | head -n 1)
grep -vE "^\*(-[[:alnum:]]\*, \*)?${first}\*" "$man" >"$tmp/streamput.1.scd"
saved=$failures
if check_options streamput "$tmp/streamput.help" "$tmp/streamput.1.scd" \
  "$root/completions/streamput" 2>"$tmp/control.err" ||
  ! grep -q -- "option $first is in 'streamput --help' but not in" "$tmp/control.err"; then
  cat "$tmp/control.err" >&2
  failures=$((saved + 1))
  echo "check-man: negative control: a man page without $first was not caught" >&2
else
  failures=$saved
fi

if [ "$failures" -ne 0 ]; then
  echo "check-man: $failures problem(s): --help, doc/*.1.scd, completions/* and README.md" \
    "must agree" >&2
  exit 1
fi
echo "check-man: options, exit codes, faults and completions agree"
