#!/usr/bin/env bash
# Benchmarks Ebb's API against a bare axum handler in the same run (docs/benchmarks.md).
# Usage: bench/api.sh [--groups N] [--requests N] [--concurrency N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p ebb -p ebb-bench
work=$(mktemp -d)
cleanup() { kill "${ebb_pid:-}" "${bare_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Request budgets are lifted: this measures the execution path, not the rate limiter.
EBB_OPERATOR_TOKEN=bench-operator EBB_LOG=warn ./target/release/ebb serve \
  --listen 127.0.0.1:0 --store "sqlite://$work/bench.db" \
  --tenant-requests-per-minute 100000000 --capability-requests-per-second 1000000 >"$work/ebb.out" 2>"$work/ebb.log" &
ebb_pid=$!
./target/release/ebb-bench bare --listen 127.0.0.1:0 >"$work/bare.out" &
bare_pid=$!
for _ in $(seq 100); do
  [ -s "$work/ebb.out" ] && [ -s "$work/bare.out" ] && break
  sleep 0.1
done
ebb_url=$(sed -n 's/^listening on //p' "$work/ebb.out")
bare_url=$(sed -n 's/^listening on //p' "$work/bare.out")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
./target/release/ebb-bench run --url "$ebb_url" --operator-token bench-operator --bare-url "$bare_url" "$@"
