#!/usr/bin/env bash
# Benchmarks collectors (docs/benchmarks.md): CPU and memory of `ebb serve` with 1,000
# collectors probing a local HTTP endpoint (an `ebb demo-app`) every second, beside the same
# server with none and with 1,000 waiting out hour-long intervals; and the spread of the
# collectors' actual intervals.
# Usage: bench/collectors.sh [--count N] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build_release
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/ebb demo-app --port "$port" --work-ms 0 --capacity 64 >/dev/null 2>&1 &
extra_pids=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
start_ebb
./target/release/ebb-bench collectors --url "$ebb_url" --operator-token bench-operator --pid "$ebb_pid" \
  --target "http://127.0.0.1:$port" "$@"
