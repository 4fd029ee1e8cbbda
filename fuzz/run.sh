#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for a bounded time each and
# fails if any of them finds a crash, a panic or a hang.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, all targets)
#
# New inputs that reach new code go to fuzz/corpus/<target>/ (not committed;
# the committed seeds are in fuzz/seeds/<target>/); a crashing input goes to
# fuzz/artifacts/<target>/, and each run's log to fuzz/artifacts/<target>.log.
# Reproduce a crash with: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>
#
# Environment: FUZZ_SANITIZER (default: address; "none" builds without ASan),
# FUZZ_CODEGEN_UNITS (cargo-fuzz's default is 1: a cold build of all targets
# takes ~17 min on 2 cores, with 16 ~4.5 min but the targets run up to 2x
# slower; use 16 for short smoke runs), FUZZ_JOBS (default: 1, parallel
# fuzzing processes per target).
set -euo pipefail

seconds=${1:-30}
shift || true
case $seconds in
'' | *[!0-9]*)
    echo "usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."

# cargo-fuzz passes nightly-only flags (-Zsanitizer, sanitizer coverage);
# this lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

jobs=${FUZZ_JOBS:-1}
# `cargo fuzz run` builds too: it must get the same flags as the build.
flags=(--sanitizer "${FUZZ_SANITIZER:-address}")
if [ -n "${FUZZ_CODEGEN_UNITS:-}" ]; then
    flags+=(--codegen-units "$FUZZ_CODEGEN_UNITS")
fi
if [ $# -gt 0 ]; then
    targets=("$@")
    for target in "${targets[@]}"; do
        cargo fuzz build "${flags[@]}" "$target"
    done
else
    mapfile -t targets < <(cargo fuzz list)
    cargo fuzz build "${flags[@]}"
fi

mkdir -p fuzz/artifacts
failed=()
summary=()
for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus"
    log=fuzz/artifacts/$target.log
    echo "=== $target: ${seconds}s" >&2
    status=0
    # The first folder receives new inputs; the seeds are only read.
    cargo fuzz run "${flags[@]}" --jobs "$jobs" "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    # Summed over the jobs; absent when a run ended in a crash.
    runs=$(awk '/stat::number_of_executed_units:/ { s += $2 } END { print s + 0 }' "$log")
    rate=$(awk '/stat::average_exec_per_sec:/ { s += $2 } END { print s + 0 }' "$log")
    cov=$(awk '$2 == "DONE" && $3 == "cov:" { c = $4 } END { print c }' "$log")
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status; see $log and fuzz/artifacts/$target/)"
        failed+=("$target")
        tail -n 40 "$log" >&2
    fi
    line=$(printf '%-18s %8s runs  %6s exec/s  cov %-6s %s' "$target" "$runs" "$rate" "${cov:-?}" "$result")
    echo "$line" >&2
    summary+=("$line")
done

echo >&2
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz/run.sh: findings in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz/run.sh: ${#targets[@]} targets, ${seconds}s each, no findings"
