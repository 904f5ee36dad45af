#!/usr/bin/env bash
# Benchmarks cloud convergence against mimic (docs/benchmarks.md#cloud-servers): 0 -> 50
# servers behind a RackConnect v3 pool with mimic's build delay at 0 and at 10 s, with the
# default per-tenant create throttle (1 s) and without one; 0 -> 25 behind a Cloud Load
# Balancer (mimic's node limit is 25). Each run prints the time to all servers ACTIVE and in
# the load balancer, the lower bound, and the Nova, CLB and RackConnect calls made.
# Needs mimic (.ci/run installs it in .ci/.mimic, or set EBB_MIMIC to its twistd).
# Usage: bench/cloud.sh [--servers N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
twistd=${EBB_MIMIC:-$PWD/.ci/.mimic/bin/twistd}
[ -x "$twistd" ] || { echo "no mimic at $twistd (.ci/run installs it)" >&2; exit 1; }
build_release
mimic_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$work" && exec "$twistd" -n --pidfile= mimic --listen "tcp:$mimic_port:interface=127.0.0.1" --realtime >"$work/mimic.log" 2>&1) &
extra_pids=$!
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$mimic_port") 2>/dev/null && break; sleep 0.1; done
mimic="http://127.0.0.1:$mimic_port"

runs=0
run() { # create-interval, then ebb-bench cloud arguments
  local interval=$1; shift
  runs=$((runs + 1))
  # A fresh store each run: no group of an earlier run is converged beside this one's.
  start_ebb "sqlite://$work/bench-$runs.db" --cloud-create-interval "$interval" --cloud-retry-interval 1
  ./target/release/ebb-bench cloud --url "$ebb_url" --operator-token bench-operator --mimic "$mimic" \
    --create-interval "$interval" "$@"
  stop_ebb
}
run 1 --balancer pool --build-seconds 0 "$@"
run 1 --balancer pool --build-seconds 10 "$@"
run 0 --balancer pool --build-seconds 0 "$@"
run 0 --balancer pool --build-seconds 10 "$@"
run 1 --balancer clb --build-seconds 0 --servers 25
run 0 --balancer clb --build-seconds 10 --servers 25
