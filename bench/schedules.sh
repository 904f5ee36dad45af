#!/usr/bin/env bash
# Benchmarks the scheduler (docs/benchmarks.md): 100,000 schedule policies across 1,000
# groups, 1,000 of them due in the same second; firing lateness, then idle CPU and memory.
# Usage: bench/schedules.sh [--groups N] [--per-group N] [--idle-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build_release
start_ebb
./target/release/ebb-bench schedules --url "$ebb_url" --operator-token bench-operator --pid "$ebb_pid" "$@"
