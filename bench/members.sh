#!/usr/bin/env bash
# Benchmarks members (docs/benchmarks.md): load-balancer overhead against calling a member
# directly, and scale-up time against a member's own start-up time, in the same run.
# Usage: bench/members.sh [--work-ms N] [--startup-ms N] [--requests N] [--concurrency N] [--starts N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build_release
start_ebb --balancer-host 127.0.0.1
./target/release/ebb-bench members --url "$ebb_url" --operator-token bench-operator --ebb-bin "$PWD/target/release/ebb" "$@"
