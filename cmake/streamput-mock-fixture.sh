#!/bin/sh
# streamput-mock as a CTest fixture, the commands of streamput_add_mock() (StreamputMock.cmake):
#   streamput-mock-fixture.sh start PREFIX ROOT MOCK [MOCK-OPTION...]
#   streamput-mock-fixture.sh stop PREFIX
# start runs MOCK --listen 127.0.0.1:0 --root ROOT MOCK-OPTION... in the background, waits until
# the mock names the URL it listens on (its first stdout line) and writes that URL to PREFIX.url;
# the pid goes to PREFIX.pid, the mock's stderr to PREFIX.log. stop ends the mock and fails if it
# had died before. ctest runs the two as separate tests, so nothing but this script's own files
# ties them together: a guard process stays behind with the mock and ends it once the process
# that ran start (ctest) is gone, so that a killed ctest leaves no mock listening.
set -u
me=streamput-mock-fixture

fail() {
    echo "$me: $*" >&2
    exit 1
}

nap() {
    sleep 0.1 2>/dev/null || sleep 1
}

# Whether process $1 runs. A zombie does not: once its parent (start's shell) is gone the mock is
# reaped by init, which in a container may never happen.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/stat" ] || return 0
    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Ends the mock of PREFIX $1, if its pid file names one: SIGTERM, SIGKILL after 5 s. With $2 =
# strict, a mock that had already exited is an error: it died while the tests used it.
stop_mock() {
    if [ -f "$1.guard" ]; then
        kill "$(cat "$1.guard")" 2>/dev/null
        rm -f "$1.guard"
    fi
    [ -f "$1.pid" ] || return 0
    pid=$(cat "$1.pid")
    rm -f "$1.pid" "$1.url"
    if ! alive "$pid"; then
        [ "$2" = strict ] || return 0
        echo "$me: streamput-mock (pid $pid) had exited before the fixture's end; its stderr:" >&2
        tail -n 20 "$1.log" >&2 2>/dev/null
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null
    i=0
    while alive "$pid"; do
        i=$((i + 1))
        if [ "$i" -eq 50 ]; then
            echo "$me: streamput-mock (pid $pid) ignored SIGTERM for 5 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
        nap
    done
    return 0
}

case "${1:-}" in
start)
    [ $# -ge 4 ] || fail "usage: $0 start PREFIX ROOT MOCK [MOCK-OPTION...]"
    prefix=$2
    root=$3
    mock=$4
    shift 4
    # A mock left from an earlier run whose stop never ran would hold its files.
    stop_mock "$prefix" lenient
    case $mock in
    */*) [ -x "$mock" ] || fail "$mock: no such executable (is streamput-mock built?)" ;;
    *)
        command -v "$mock" >/dev/null 2>&1 ||
            fail "$mock: not found on PATH; install the streamput-mock package or set STREAMPUT_MOCK_EXECUTABLE"
        ;;
    esac
    mkdir -p "$root" || fail "cannot create the mock's root $root"
    rm -f "$prefix.out"
    "$mock" --listen 127.0.0.1:0 --root "$root" "$@" </dev/null >"$prefix.out" 2>"$prefix.log" &
    pid=$!
    echo "$pid" >"$prefix.pid"
    owner=$PPID
    (
        while alive "$pid"; do
            if ! kill -0 "$owner" 2>/dev/null; then
                kill -TERM "$pid"
                break
            fi
            sleep 1
        done
    ) </dev/null >/dev/null 2>&1 &
    echo "$!" >"$prefix.guard"
    i=0
    while :; do
        url=$(sed -n '1s/^streamput-mock listening on \(.*\)$/\1/p' "$prefix.out")
        [ -n "$url" ] && break
        if ! alive "$pid"; then
            wait "$pid"
            status=$?
            rm -f "$prefix.pid"
            kill "$(cat "$prefix.guard")" 2>/dev/null
            rm -f "$prefix.guard"
            echo "$me: $mock exited with status $status before listening; its stderr:" >&2
            cat "$prefix.log" >&2
            exit 1
        fi
        i=$((i + 1))
        if [ "$i" -ge 100 ]; then
            stop_mock "$prefix" lenient
            fail "$mock printed no URL within 10 s; see $prefix.log"
        fi
        nap
    done
    # Whole or not at all, for a test that reads it the moment it appears.
    if ! { printf '%s\n' "$url" >"$prefix.url.tmp" && mv "$prefix.url.tmp" "$prefix.url"; }; then
        stop_mock "$prefix" lenient
        fail "cannot write $prefix.url"
    fi
    echo "$me: streamput-mock (pid $pid) listening on $url, URL in $prefix.url"
    ;;
stop)
    [ $# -eq 2 ] || fail "usage: $0 stop PREFIX"
    stop_mock "$2" strict || exit 1
    echo "$me: streamput-mock stopped"
    ;;
*)
    fail "usage: $0 start PREFIX ROOT MOCK [MOCK-OPTION...] | stop PREFIX"
    ;;
esac
