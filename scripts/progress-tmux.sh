#!/usr/bin/env bash
# The live progress display in a real 80-column terminal.
#
# Runs a 12 s benchmark against the built-in mock inside a detached tmux
# session (80 x 24), captures the pane every second and checks that:
#   - every line of the progress block (the lines up to the last status
#     line, in the pane's whole history) fits in 80 columns: wrapped lines are
#     joined back, so a line the terminal had to wrap shows up as longer;
#   - from 10 s on, the history holds at most the progress block itself: one
#     status line for the one benchmark, no trail of stale ones.
# The summary tables printed after the run are shown, and their width noted,
# but not checked.
# Prints every capture, then PASS or FAIL.
#
# Usage: scripts/progress-tmux.sh
# Environment: LLMLOAD (the llmload binary; default: llmload on PATH, else
# this checkout's target/release/llmload, else target/debug/llmload).
# Needs tmux (apt-get install -y tmux).
# Exit: 0 PASS, 1 FAIL, 2 cannot run (no tmux, no binary).
set -uo pipefail

width=80
seconds=12
# Characters, not bytes, for ${#line}; and tmux draws UTF-8.
export LC_ALL=C.UTF-8

die() {
    echo "progress-tmux.sh: $*" >&2
    exit 2
}

case "${1:-}" in
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    "") ;;
    *) die "unknown argument $1 (see --help)" ;;
esac

command -v tmux >/dev/null 2>&1 || die "tmux not found (apt-get install -y tmux)"
llmload="${LLMLOAD:-}"
if [ -z "$llmload" ]; then
    root="$(cd "$(dirname "$0")/.." && pwd)"
    for b in "$(command -v llmload 2>/dev/null)" "$root/target/release/llmload" "$root/target/debug/llmload"; do
        if [ -n "$b" ] && [ -x "$b" ]; then llmload="$b"; break; fi
    done
fi
[ -n "$llmload" ] && [ -x "$llmload" ] || die "no llmload binary (cargo build -p llmload, or set LLMLOAD)"

tmp="$(mktemp -d)"
sock="llmload-progress-$$"
t() { tmux -L "$sock" -f /dev/null "$@"; }
cleanup() {
    t kill-server >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

cmd="$(printf '%q ' "$llmload" benchmark --target mock --rate-type constant --rate 10 \
    --max-seconds "$seconds" --data prompt_tokens=64,output_tokens=32 --output-dir "$tmp/out")"
# The pane stays after the run so that its last state can be captured.
t new-session -d -s progress -x "$width" -y 24 "$cmd; echo \"[llmload exited \$?]\"; exec sleep 600" \
    || die "tmux could not start a session"

fail=0
seen_status=0
finished=0
limit=$((seconds + 30))
for i in $(seq 1 "$limit"); do
    sleep 1
    # The whole history (-S -), not just the screen, so that nothing left
    # behind can scroll out of sight; -J joins wrapped lines, so a line wider
    # than the pane comes back whole.
    t capture-pane -p -J -S - -t progress | sed -e 's/[[:space:]]*$//' >"$tmp/capture" \
        || die "tmux capture-pane failed"
    echo "--- capture at ${i} s ---"
    awk 'NF || seen { seen = 1; print }' "$tmp/capture" | tac | awk 'NF || seen { seen = 1; print }' | tac
    # Status lines start with the benchmark's number: `[1] constant@10.00 ...`.
    # The progress block is everything up to the last of them; the summary
    # tables printed after the run are not part of it.
    last=$(grep -n '^\[[0-9]*\] ' "$tmp/capture" | tail -n 1 | cut -d: -f1)
    n=0
    while IFS= read -r l; do
        n=$((n + 1))
        [ -n "$last" ] && [ "$n" -gt "$last" ] && break
        if [ "${#l}" -gt "$width" ]; then
            echo "FAIL: capture at ${i} s: a line of ${#l} columns (> $width): $l"
            fail=1
        fi
    done <"$tmp/capture"
    status=$(grep -c '^\[[0-9]*\] ' "$tmp/capture")
    if [ "$status" -gt 0 ]; then seen_status=1; fi
    if [ "$i" -ge 10 ] && [ "$status" -gt 1 ]; then
        echo "FAIL: capture at ${i} s holds $status status lines (at most 1: stale lines left behind)"
        fail=1
    fi
    if grep -q '^\[llmload exited ' "$tmp/capture"; then
        finished=1
        break
    fi
done

if [ "$finished" -eq 0 ]; then
    echo "FAIL: the run did not finish within ${limit} s"
    fail=1
elif ! grep -q '^\[llmload exited 0\]' "$tmp/capture"; then
    echo "FAIL: the run failed: $(grep '^\[llmload exited ' "$tmp/capture")"
    fail=1
fi
if [ "$seen_status" -eq 0 ]; then
    echo "FAIL: no capture showed a status line"
    fail=1
fi
if [ -n "$last" ]; then
    widest=$(tail -n +"$((last + 1))" "$tmp/capture" | awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }')
    echo "note: the summary after the progress block is up to $widest columns wide (not checked here)"
fi
if [ "$fail" -eq 0 ]; then
    echo "PASS: every line fit in $width columns; from 10 s on, one status line"
    exit 0
fi
echo "FAIL"
exit 1
