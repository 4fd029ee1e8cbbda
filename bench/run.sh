#!/usr/bin/env bash
# Issue #5 "Measure": runs every benchmark on the release build and prints a
# Markdown table, each number beside a baseline measured in the same run.
#
#   bench/run.sh            everything (about 5–10 minutes on 2 cores)
#   bench/run.sh --quick    small counts, to check that it all works
#   bench/run.sh rtt idle   only some of: rtt throughput latency idle memory startup
#                           (the render benchmark runs unless --no-render)
#
# What runs:
#   cargo bench --bench render   criterion: one 120×40 frame with 1k/100k/1M
#                                messages in history vs one fixed Paragraph
#   cargo bench --bench system   round trip, throughput, Enter-to-screen, idle
#                                CPU and memory, start-up (benches/system/)
# Both only touch 127.0.0.1 and stop by themselves (counts and watchdogs).
# The table goes to stdout and to target/bench-results.md; progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

render=1
quick=()
system_args=()
for arg in "$@"; do
    case "$arg" in
        --no-render) render=0 ;;
        --quick) quick=(--quick) ;;
        *) system_args+=("$arg") ;;
    esac
done

target="${CARGO_TARGET_DIR:-target}"
out="$target/bench-results.md"

{
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB"
    echo "rustc: $(rustc --version); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
} >&2

cargo build --release --benches >&2

if [ "$render" = 1 ]; then
    criterion_args=(--noplot)
    if [ ${#quick[@]} -gt 0 ]; then
        criterion_args+=(--warm-up-time 0.5 --measurement-time 1)
    fi
    echo "== render (criterion; load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    cargo bench --bench render -- "${criterion_args[@]}" >&2
    system_args+=(--criterion "$target/criterion")
fi

cargo bench --bench system -- "${quick[@]}" "${system_args[@]}" | tee "$out"
echo "(written to $out)" >&2
