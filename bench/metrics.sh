#!/usr/bin/env bash
# Benchmarks the metric path (docs/benchmarks.md): samples a second through the batch
# endpoint and requests a second through Cloud Foundry's endpoint with the metric store
# holding many groups, each beside the bare handler given the same requests in the same run;
# the time from the answer to the sample that completes a breach to the durable change of
# desired capacity; the server's memory per group and per series.
# Usage: bench/metrics.sh [--store postgres://…] [--groups N] [--requests N] [--concurrency N] [--trials N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
store="sqlite://$work/bench.db"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
build_release
start_bare
# 60 s breaches and cooldowns last 60 ms, so that a thousand trials take a minute or two; the
# trial group takes about twenty samples a second, above the default budget of ten.
echo 'max_groups = 100000' >"$work/ebb.toml"
start_ebb "$store" --rules-time-scale 0.001 --app-requests-per-second 100 --config "$work/ebb.toml"
./target/release/ebb-bench metrics --url "$ebb_url" --operator-token bench-operator --bare-url "$bare_url" \
  --pid "$ebb_pid" "${args[@]}" || {
  echo "the benchmark failed; the end of the server's log:" >&2
  tail -20 "$work/ebb.log" >&2
  exit 1
}
