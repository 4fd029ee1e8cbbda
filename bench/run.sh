#!/usr/bin/env bash
# Issue #5 "Measure" (and "Core v2"): runs every benchmark on the release
# build and prints a Markdown table, each number beside a baseline measured
# in the same run.
#
#   bench/run.sh            everything (about 5–10 minutes on 2 cores)
#   bench/run.sh --quick    small counts, to check that it all works
#   bench/run.sh rtt backlog
#                           only some of: rtt throughput backlog latency idle
#                           memory startup (the render benchmark runs unless
#                           --no-render)
#   bench/run.sh --help     this text, and the system benchmark's options
#                           (--no-socat, --backlog-lines N, --backlog-pause
#                           SECS, --backlog-limit SECS), passed on to it
#
# What runs:
#   cargo bench --bench render   criterion: one 120×40 frame with 1k/100k/1M
#                                messages in history vs one fixed Paragraph
#   cargo bench --bench system   (benches/system/)
#     rtt         round trip of 32 B between two headless duplex, p50/p99,
#                 beside a socat pair (`socat - TCP-LISTEN:PORT,...` and
#                 `socat - TCP:127.0.0.1:PORT`, same lines through their
#                 stdin/stdout), plain tokio relays, std relays, a tokio echo
#     throughput  one-way 32 B messages beside relays, socat, raw TCP writes
#     backlog     10,000 lines piped into a guest while the host is stopped
#                 (SIGSTOP); SIGCONT to the host printing all (each once, in
#                 order), beside a socat pair stopped and resumed alike;
#                 "did not drain (N of 10000 after T s)" if it never ends
#     latency     Enter-to-screen, TUI to TUI in PTYs, beside relays in PTYs
#     idle, memory, startup
# Both only touch 127.0.0.1 and stop by themselves (counts and watchdogs).
# The table goes to stdout and to target/bench-results.md; progress to stderr.
#
# socat: the socat baselines need it. When it is missing and this runs as
# root with apt-get, it is installed (apt-get install -y socat, after
# apt-get update if needed); otherwise a message says how to install it and
# only the socat baselines are skipped ("skipped: socat missing").
set -euo pipefail
cd "$(dirname "$0")/.."

render=1
quick=()
system_args=()
for arg in "$@"; do
    case "$arg" in
        -h|--help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
            cargo bench --bench system -- --help 2>/dev/null || true
            exit 0
            ;;
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

# The socat baselines: install socat if it is missing and we can.
if ! command -v socat >/dev/null 2>&1 && [[ " ${system_args[*]-} " != *" --no-socat "* ]]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "socat is missing: installing it (apt-get install -y socat) for the socat baselines" >&2
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y socat >&2; then
            { apt-get update >&2 && apt-get install -y socat >&2; } || true
        fi
    fi
    if ! command -v socat >/dev/null 2>&1; then
        cat >&2 <<'EOF'
socat is missing, so the socat baselines (round trip, throughput, backlog)
are skipped in this run ("skipped: socat missing"); everything else runs.
Install it and run again:
    sudo apt-get install socat    # Debian, Ubuntu
    sudo dnf install socat        # Fedora
    brew install socat            # macOS
EOF
    fi
fi

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
