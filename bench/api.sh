#!/usr/bin/env bash
# Benchmarks Ebb's API against a bare axum handler in the same run (docs/benchmarks.md).
# Usage: bench/api.sh [--store postgres://…] [--groups N] [--requests N] [--concurrency N]
#                     [--latency-concurrency N]
# Always measures a fresh SQLite store; with --store postgres://…, a fresh schema of that
# PostgreSQL database is measured too, in the same run, each beside the bare handler.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
postgres=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --store) postgres="$2"; shift 2 ;;
    --store=*) postgres="${1#--store=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$postgres" in
  "" | postgres://* | postgresql://*) ;;
  *) echo "--store takes a postgres:// URL (SQLite is always measured)" >&2; exit 2 ;;
esac
build_release
start_bare

measure() {
  echo "### $1"
  echo
  # Request budgets are lifted: this measures the execution path, not the rate limiter.
  start_ebb "$2" --capability-requests-per-second 1000000
  ./target/release/ebb-bench run --url "$ebb_url" --operator-token bench-operator --bare-url "$bare_url" "${args[@]}" || {
    echo "the benchmark failed; the end of the server's log:" >&2
    tail -20 "$work/ebb.log" >&2
    exit 1
  }
  stop_ebb
  echo
}

measure "SQLite (a fresh file)" "sqlite://$work/bench.db"
if [ -n "$postgres" ]; then
  schema="ebb_bench_$$"
  psql "$postgres" -q -c "CREATE SCHEMA $schema"
  cleanup_postgres() { psql "$postgres" -q -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $schema CASCADE" || true; }
  on_exit cleanup_postgres
  separator="?"; case "$postgres" in *\?*) separator="&" ;; esac
  measure "PostgreSQL (a fresh schema)" "$postgres${separator}options=-csearch_path%3D$schema"
fi
