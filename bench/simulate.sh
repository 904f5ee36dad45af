#!/usr/bin/env bash
# Benchmarks `ebb simulate` (docs/benchmarks.md): the whole WorldCup98 trace (125,310
# minutes) through one target-tracking policy, then with --compare (every baseline), timed;
# then the comparison tables on the NASA and WorldCup98 traces.
# Usage: bench/simulate.sh [--traces DIR] [--policy FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
traces=../shared/traces
policy=bench/simulate/tracking.yaml
while [ $# -gt 0 ]; do
  case "$1" in
    --traces) traces="$2"; shift 2 ;;
    --policy) policy="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cargo build --release -p ebb
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
ebb=./target/release/ebb
worldcup="$traces/worldcup98_per_minute.csv"
nasa="$traces/nasa_http_1995_per_minute.csv"
timed() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) s: ${*:2}"
}
echo "== speed (WorldCup98, whole trace)"
timed "$ebb" simulate --trace "$worldcup" --policy "$policy" --json
timed "$ebb" simulate --trace "$worldcup" --policy "$policy" --json --compare
echo "== NASA-HTTP 1995, scaled ×25 (about 7 members at the mean), noise 10 %"
"$ebb" simulate --trace "$nasa" --policy "$policy" --compare --scale 25 --noise 0.1
echo "== WorldCup98, 10 requests/s a member, noise 10 %"
"$ebb" simulate --trace "$worldcup" --policy "$policy" --compare --noise 0.1
echo "== the recommended policy (docs/simulate.md) on both traces"
"$ebb" simulate --trace "$nasa" --policy bench/simulate/recommended.yaml --scale 25 --noise 0.1
"$ebb" simulate --trace "$worldcup" --policy bench/simulate/recommended.yaml --noise 0.1
