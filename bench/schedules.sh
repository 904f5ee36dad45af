#!/usr/bin/env bash
# Benchmarks the scheduler (docs/benchmarks.md): 100,000 schedule policies across 1,000
# groups, 1,000 of them due in the same second; firing lateness, then idle CPU and memory.
# Usage: bench/schedules.sh [--groups N] [--per-group N] [--idle-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p ebb -p ebb-bench
work=$(mktemp -d)
cleanup() { kill "${ebb_pid:-}" 2>/dev/null; wait "${ebb_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

EBB_OPERATOR_TOKEN=bench-operator EBB_LOG=warn ./target/release/ebb serve \
  --listen 127.0.0.1:0 --store "sqlite://$work/bench.db" \
  --tenant-requests-per-minute 100000000 >"$work/ebb.out" 2>"$work/ebb.log" &
ebb_pid=$!
for _ in $(seq 100); do [ -s "$work/ebb.out" ] && break; sleep 0.1; done
ebb_url=$(sed -n 's/^listening on //p' "$work/ebb.out")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
./target/release/ebb-bench schedules --url "$ebb_url" --operator-token bench-operator --pid "$ebb_pid" "$@"
