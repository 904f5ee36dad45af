#!/usr/bin/env bash
# Benchmarks Ebb's API against a bare axum handler in the same run (docs/benchmarks.md).
# Usage: bench/api.sh [--groups N] [--requests N] [--concurrency N] [--latency-concurrency N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build_release
# Request budgets are lifted: this measures the execution path, not the rate limiter.
start_ebb --capability-requests-per-second 1000000
./target/release/ebb-bench bare --listen 127.0.0.1:0 >"$work/bare.out" &
extra_pids=$!
for _ in $(seq 100); do [ -s "$work/bare.out" ] && break; sleep 0.1; done
bare_url=$(sed -n 's/^listening on //p' "$work/bare.out")
./target/release/ebb-bench run --url "$ebb_url" --operator-token bench-operator --bare-url "$bare_url" "$@"
