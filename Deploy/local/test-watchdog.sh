#!/usr/bin/env bash
# Runs the test suite and watches it: when the suite prints nothing for $RAMPART_TEST_STALL_SECONDS
# (default 600), every thread's stack of the test process goes to stderr and the run fails,
# instead of a silent hang until CI's own time limit.
#
# The suite gets a temporary folder of its own (TMPDIR), removed when it ends: the PKIs, key
# stores, database secrets and scratch clusters its tests write there do not pile up in /tmp
# from run to run. Sticky and writable by all, as /tmp is: PostgreSQL and pgBackRest run as
# their own user and write there too.
#
#   Deploy/local/test-watchdog.sh swift test --skip-build
set -uo pipefail

stall_seconds="${RAMPART_TEST_STALL_SECONDS:-600}"
log="$(mktemp)" || exit 1
scratch="$(mktemp -d "${TMPDIR:-/tmp}/rampart-test-run.XXXXXX")" && chmod 1777 "$scratch" || exit 1
runner=
trap 'rm -f "$log"; rm -rf "$scratch"' EXIT
# Stopped from outside (CI cancelling, a closed terminal): the suite stops first, then its
# folder goes.
trap 'if [[ -n "$runner" ]]; then pkill -TERM -P "$runner"; kill -TERM "$runner"; wait "$runner"; fi 2>/dev/null; exit 143' INT TERM HUP
export TMPDIR="$scratch"

# Line-buffered, so what is printed is what has happened.
stdbuf -oL -eL "$@" > >(tee "$log") 2>&1 &
runner=$!

last_size=-1
quiet=0
while kill -0 "$runner" 2>/dev/null; do
    # (waited for in the background: a signal is handled at once, not after the sleep)
    sleep 10 & wait $!
    size=$(stat -c %s "$log" 2>/dev/null || echo 0)
    if [[ "$size" != "$last_size" ]]; then
        last_size=$size
        quiet=0
        continue
    fi
    quiet=$((quiet + 10))
    if (( quiet >= stall_seconds )); then
        echo "test-watchdog: no output for ${stall_seconds}s; processes and the test process's stacks follow" >&2
        ps -eo pid,ppid,etime,args --forest | grep -v '\[.*\]$' | cut -c1-240 >&2
        for pid in $(pgrep -f 'PackageTests.xctest|swiftpm-testing-helper'); do
            echo "=== process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline | cut -c1-200)" >&2
            if command -v gdb >/dev/null; then
                timeout 120 gdb -p "$pid" -batch -ex "set pagination off" -ex "thread apply all bt 30" >&2 2>/dev/null
            else
                for task in /proc/"$pid"/task/*; do
                    echo "thread ${task##*/}: $(cat "$task"/comm) $(cat "$task"/wchan)" >&2
                done
            fi
        done
        pkill -TERM -P "$runner" 2>/dev/null
        kill -TERM "$runner" 2>/dev/null
        pkill -KILL -f 'PackageTests.xctest|swiftpm-testing-helper' 2>/dev/null
        wait "$runner" 2>/dev/null
        exit 124
    fi
done
wait "$runner"
