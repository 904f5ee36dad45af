# Shared by the benchmark scripts: builds the release binaries and starts `ebb serve` on a
# fresh store in a temporary directory, stopped when the script exits.
# After `start_ebb [extra flags]`: $ebb_url, $ebb_pid and $work are set.

build_release() {
  cargo build --release -p ebb -p ebb-bench
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
}

start_ebb() {
  work=$(mktemp -d)
  trap 'kill "${ebb_pid:-}" ${extra_pids:-} 2>/dev/null; wait "${ebb_pid:-}" 2>/dev/null; rm -rf "$work"' EXIT
  EBB_OPERATOR_TOKEN=bench-operator EBB_LOG=warn ./target/release/ebb serve \
    --listen 127.0.0.1:0 --store "sqlite://$work/bench.db" --tenant-requests-per-minute 100000000 "$@" \
    >"$work/ebb.out" 2>"$work/ebb.log" &
  ebb_pid=$!
  for _ in $(seq 100); do [ -s "$work/ebb.out" ] && break; sleep 0.1; done
  ebb_url=$(sed -n 's/^listening on //p' "$work/ebb.out")
  [ -n "$ebb_url" ] || { echo "ebb serve did not start:" >&2; cat "$work/ebb.log" >&2; exit 1; }
}
