# Shared by the benchmark scripts: builds the release binaries and starts `ebb serve` on a
# fresh store in a temporary directory, stopped when the script exits.
# $work is a temporary directory removed at exit; after `start_ebb [STORE] [extra flags]`,
# $ebb_url and $ebb_pid are set. STORE defaults to a SQLite file in $work.

work=$(mktemp -d)
exit_hooks=()
on_exit() { exit_hooks+=("$1"); }
run_exit_hooks() {
  stop_ebb
  kill ${extra_pids:-} 2>/dev/null || true
  for hook in "${exit_hooks[@]}"; do "$hook"; done
  rm -rf "$work"
}
trap run_exit_hooks EXIT

build_release() {
  cargo build --release -p ebb -p ebb-bench
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB" >&2
}

start_ebb() {
  local store="sqlite://$work/bench.db"
  case "${1:-}" in sqlite://* | postgres://* | postgresql://*) store="$1"; shift ;; esac
  EBB_OPERATOR_TOKEN=bench-operator EBB_LOG=warn ./target/release/ebb serve \
    --listen 127.0.0.1:0 --store "$store" --tenant-requests-per-minute 100000000 "$@" \
    >"$work/ebb.out" 2>"$work/ebb.log" &
  ebb_pid=$!
  for _ in $(seq 100); do [ -s "$work/ebb.out" ] && break; sleep 0.1; done
  ebb_url=$(sed -n 's/^listening on //p' "$work/ebb.out")
  [ -n "$ebb_url" ] || { echo "ebb serve did not start:" >&2; cat "$work/ebb.log" >&2; exit 1; }
}

# Starts `ebb-bench bare` (a handler answering 202) on a free port; sets $bare_url.
start_bare() {
  ./target/release/ebb-bench bare --listen 127.0.0.1:0 >"$work/bare.out" &
  extra_pids=$!
  for _ in $(seq 100); do [ -s "$work/bare.out" ] && break; sleep 0.1; done
  bare_url=$(sed -n 's/^listening on //p' "$work/bare.out")
}

stop_ebb() {
  [ -n "${ebb_pid:-}" ] || return 0
  kill "$ebb_pid" 2>/dev/null || true
  wait "$ebb_pid" 2>/dev/null || true
  ebb_pid=""
  rm -f "$work/ebb.out"
}
