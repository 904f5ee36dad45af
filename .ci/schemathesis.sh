#!/usr/bin/env bash
# Fuzzes a running Ebb server from its own /openapi.json with schemathesis (4.x), and fails on
# any 5xx answer (and on nothing else). Run by `cargo test` (crates/ebb/tests/api_fuzz.rs) when
# schemathesis is installed; `.ci/run` installs it.
#
# Usage: schemathesis.sh BASE_URL OPERATOR_TOKEN
#
# It makes its fixtures through the API: a tenant with a group, policies, webhooks, a token and
# (with EBB_MEMBER_COMMAND, the absolute path of an `ebb` binary) two real `ebb demo-app`
# members; and sandboxes for what fuzzed bodies could otherwise turn against the machine: the
# group creations, pauses and configuration, launch and window changes go to a tenant without a
# local_process grant, the grant changes to a tenant that owns no group, and every destructive
# operation to a victim of its own, so each deletes for real once and sees its 404 after.
#
# Settings: ST (the `st` binary), ST_MAX_EXAMPLES (25), ST_CHECKS (not_a_server_error),
# ST_TIMEOUT (hard cap in seconds per pass, 240), ST_SEED, ST_REPORT_DIR (junit and ndjson
# reports), ST_RANDOM_IDS=1 (a second pass with generated ids for everything but the tenants).
# The server should run with large request budgets (EBB_TENANT_REQUESTS_PER_MINUTE=1000000,
# EBB_CAPABILITY_REQUESTS_PER_SECOND=100000), or most requests end in 429 and test nothing.
# Exit status: that of `st run` (non-zero on any 5xx or transport error), 2 for a fixture problem.
set -euo pipefail

EXTRA=()
POS=()
while (($#)); do
  if [[ $1 == -- ]]; then shift; EXTRA=("$@"); break; fi
  POS+=("$1"); shift
done
EBB_URL=${POS[0]:-${EBB_URL:-}}
EBB_TOKEN=${POS[1]:-${EBB_TOKEN:-}}
EBB_URL=${EBB_URL%/}
[[ -n $EBB_URL && -n $EBB_TOKEN ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
export EBB_URL EBB_TOKEN

if [[ -z ${ST:-} ]]; then
  ST=$(command -v st || true)
fi
[[ -n $ST ]] || { echo "schemathesis-run: no st; pip install schemathesis==4.32.5" >&2; exit 2; }
PY=$(dirname "$ST")/python3
[[ -x $PY ]] || PY=python3

NOID=00000000-0000-0000-0000-000000000000

# api METHOD PATH [BODY] -> response body on stdout; fails on a non-2xx answer
api() {
  local out code
  out=$(curl -sS -X "$1" "$EBB_URL$2" -H "X-Auth-Token: $EBB_TOKEN" -H 'Content-Type: application/json' \
        ${3:+--data "$3"} -w '\n%{http_code}') || { echo "schemathesis-run: $1 $2: curl failed" >&2; return 2; }
  code=${out##*$'\n'}; out=${out%$'\n'*}
  if [[ $code != 2?? ]]; then echo "schemathesis-run: $1 $2 -> $code $out" >&2; return 2; fi
  printf '%s' "$out"
}
# get JSON-PATH (python subscripts, e.g. "['group']['id']") from stdin
get() { "$PY" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if [[ -z ${EBB_GROUP:-} ]]; then
  echo "schemathesis-run: creating fixtures" >&2
  sfx=$(date +%s)-$$
  EBB_TENANT=st-$sfx EBB_SANDBOX_TENANT=st-sandbox-$sfx EBB_LP_TENANT=st-lp-$sfx
  for t in "$EBB_TENANT" "$EBB_SANDBOX_TENANT" "$EBB_LP_TENANT"; do
    api POST /admin/v1/tenants "{\"id\":\"$t\"}" >/dev/null
  done
  T=/v1.0/$EBB_TENANT
  policies='[{"name":"p","type":"webhook","cooldown":0,"change":1},{"name":"victim","type":"webhook","cooldown":0,"change":1},{"name":"down","type":"webhook","cooldown":0,"change":-1}]'
  if [[ -n ${EBB_MEMBER_COMMAND:-} ]]; then
    api PUT "/admin/v1/tenants/$EBB_TENANT/local-process" "{\"enabled\":true,\"commands\":[\"$EBB_MEMBER_COMMAND\"]}" >/dev/null
    launch="{\"type\":\"local_process\",\"args\":{\"process\":{\"command\":\"$EBB_MEMBER_COMMAND\",\"args\":[\"demo-app\"]}}}"
    min=2
  else
    launch='{"type":"launch_server","args":{"server":{"flavorRef":"2","imageRef":"img"}}}'
    min=0
  fi
  g=$(api POST "$T/groups" "{\"groupConfiguration\":{\"name\":\"st\",\"cooldown\":0,\"minEntities\":$min,\"maxEntities\":3},\"launchConfiguration\":$launch,\"scalingPolicies\":$policies}")
  EBB_GROUP=$(get "['group']['id']" <<<"$g")
  EBB_POLICY=$(get "['group']['scalingPolicies'][0]['id']" <<<"$g")
  EBB_VICTIM_POLICY=$(get "['group']['scalingPolicies'][1]['id']" <<<"$g")
  EBB_EXEC_POLICY=$(get "['group']['scalingPolicies'][2]['id']" <<<"$g")
  w=$(api POST "$T/groups/$EBB_GROUP/policies/$EBB_POLICY/webhooks" '[{"name":"w"},{"name":"victim"}]')
  EBB_WEBHOOK=$(get "['webhooks'][0]['id']" <<<"$w")
  EBB_VICTIM_WEBHOOK=$(get "['webhooks'][1]['id']" <<<"$w")
  cap=$(get "['webhooks'][0]['links'][1]['href']" <<<"$w")
  cap=${cap%/}; EBB_CAPABILITY=${cap##*/}
  empty='{"type":"launch_server","args":{"server":{"flavorRef":"2","imageRef":"img"}}}'
  for v in EBB_SPARE_GROUP EBB_DOOMED_GROUP; do
    g=$(api POST "/v1.0/$EBB_SANDBOX_TENANT/groups" "{\"groupConfiguration\":{\"name\":\"$v\",\"cooldown\":0,\"minEntities\":0,\"maxEntities\":1},\"launchConfiguration\":$empty,\"scalingPolicies\":[{\"name\":\"p\",\"type\":\"webhook\",\"cooldown\":0,\"change\":1}]}")
    printf -v "$v" %s "$(get "['group']['id']" <<<"$g")"
  done
  t=$(api POST "/admin/v1/tenants/$EBB_TENANT/tokens" '{"role":"observer"}')
  EBB_VICTIM_TOKEN=$(get "['token']['id']" <<<"$t")
  if [[ -n ${EBB_MEMBER_COMMAND:-} ]]; then
    for _ in $(seq 60); do
      m=$(api GET "$T/groups/$EBB_GROUP/members")
      n=$("$PY" -c "import json,sys; print(sum(x['status']=='active' for x in json.load(sys.stdin)['members']))" <<<"$m")
      ((n >= 2)) && break
      sleep 0.5
    done
    ((n >= 2)) || { echo "schemathesis-run: fixture members did not become active: $m" >&2; exit 2; }
    EBB_MEMBER=$(get "['members'][0]['id']" <<<"$m")
    EBB_VICTIM_MEMBER=$(get "['members'][1]['id']" <<<"$m")
  fi
fi

: "${EBB_TENANT:?}" "${EBB_POLICY:?}" "${EBB_WEBHOOK:?}" "${EBB_CAPABILITY:?}"
export EBB_TENANT EBB_GROUP EBB_POLICY EBB_WEBHOOK EBB_CAPABILITY
export EBB_MEMBER=${EBB_MEMBER:-$NOID}
export EBB_VICTIM_POLICY=${EBB_VICTIM_POLICY:-$NOID} EBB_VICTIM_WEBHOOK=${EBB_VICTIM_WEBHOOK:-$NOID}
export EBB_VICTIM_MEMBER=${EBB_VICTIM_MEMBER:-$NOID} EBB_VICTIM_TOKEN=${EBB_VICTIM_TOKEN:-$NOID}
export EBB_EXEC_POLICY=${EBB_EXEC_POLICY:-$EBB_POLICY}
export EBB_SANDBOX_TENANT=${EBB_SANDBOX_TENANT:-$EBB_TENANT}
export EBB_SPARE_GROUP=${EBB_SPARE_GROUP:-$EBB_GROUP} EBB_DOOMED_GROUP=${EBB_DOOMED_GROUP:-$NOID}
export EBB_LP_TENANT=${EBB_LP_TENANT:-st-no-such-tenant}

[[ -n ${ST_REPORT_DIR:-} ]] && { mkdir -p "$ST_REPORT_DIR"; ST_REPORT_DIR=$(realpath "$ST_REPORT_DIR"); }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
REPORT_DIR=${ST_REPORT_DIR:-$work/reports}

# Settings of both passes. `${NAME}` is expanded by schemathesis from the environment.
cat >"$work/common.toml" <<'EOF'
headers = { "X-Auth-Token" = "${EBB_TOKEN}" }

[generation]
# the token comes from `headers`; do not generate Authorization / X-Auth-Token values
with-security-parameters = false
# no example database or cache files in the working directory
database = "none"

[cache]
enabled = false

# Only `not_a_server_error` unless --checks (ST_CHECKS) says otherwise.
[checks]
enabled = false

[checks.not_a_server_error]
enabled = true

[parameters]
"path.tenant" = "${EBB_TENANT}"
EOF

# Routing that keeps fuzzed bodies away from the tenant and group that run real members.
cat >"$work/safety.toml" <<'EOF'

# Listing servers and showing a server answer 501 NotImplementedError, as in Otter
# (crates/ebb/tests/conformance/groups.rs asserts it): expected, not a failure.
[[operations]]
include-name = ["GET /v1.0/{tenant}/groups/{group}/servers", "GET /v1.0/{tenant}/groups/{group}/servers/{server}"]
checks = { not_a_server_error = { expected-statuses = ["2xx", "3xx", "4xx", "501"] } }

[[operations]]
include-name = "PUT /admin/v1/tenants/{tenant}/local-process"
parameters = { "path.tenant" = "${EBB_LP_TENANT}" }

[[operations]]
include-name = "POST /v1.0/{tenant}/groups"
parameters = { "path.tenant" = "${EBB_SANDBOX_TENANT}" }

[[operations]]
include-name = [
  "POST /v1.0/{tenant}/groups/{group}/pause",
  "POST /v1.0/{tenant}/groups/{group}/resume",
  "PUT /v1.0/{tenant}/groups/{group}/config",
  "PUT /v1.0/{tenant}/groups/{group}/launch",
  "PUT /v1.0/{tenant}/groups/{group}/windows",
]
parameters = { "path.tenant" = "${EBB_SANDBOX_TENANT}", "path.group" = "${EBB_SPARE_GROUP}" }
EOF

# Pass 1: the real ids for every path parameter; destructive operations get the victims.
cat >"$work/ids.toml" <<'EOF'
"path.group" = "${EBB_GROUP}"
"path.policy" = "${EBB_POLICY}"
"path.webhook" = "${EBB_WEBHOOK}"
"path.member" = "${EBB_MEMBER}"
"path.server" = "${EBB_MEMBER}"
"path.token" = "${EBB_VICTIM_TOKEN}"
"path.version" = "1"
"path.secret" = "${EBB_CAPABILITY}"

[[operations]]
include-name = "DELETE /v1.0/{tenant}/groups/{group}"
parameters = { "path.tenant" = "${EBB_SANDBOX_TENANT}", "path.group" = "${EBB_DOOMED_GROUP}" }

[[operations]]
include-name = "DELETE /v1.0/{tenant}/groups/{group}/policies/{policy}"
parameters = { "path.policy" = "${EBB_VICTIM_POLICY}" }

[[operations]]
include-name = "DELETE /v1.0/{tenant}/groups/{group}/policies/{policy}/webhooks/{webhook}"
parameters = { "path.webhook" = "${EBB_VICTIM_WEBHOOK}" }

[[operations]]
include-name = "DELETE /v1.0/{tenant}/groups/{group}/servers/{server}"
parameters = { "path.server" = "${EBB_VICTIM_MEMBER}" }

[[operations]]
include-name = "POST /v1.0/{tenant}/groups/{group}/policies/{policy}/execute"
parameters = { "path.policy" = "${EBB_EXEC_POLICY}" }
EOF
# ids.toml continues the [parameters] table of common.toml, so it must come right after it.
cat "$work/common.toml" "$work/ids.toml" "$work/safety.toml" >"$work/ids-config.toml"
cat "$work/common.toml" "$work/safety.toml" >"$work/random-config.toml"

args=(run "$EBB_URL/openapi.json" --checks "${ST_CHECKS:-not_a_server_error}"
      --max-examples "${ST_MAX_EXAMPLES:-25}" --workers "${ST_WORKERS:-1}" --no-color)
[[ -n ${ST_SEED:-} ]] && args+=(--seed "$ST_SEED")

cd "$work"
status=0
echo "schemathesis-run: tenant=$EBB_TENANT group=$EBB_GROUP policy=$EBB_POLICY webhook=$EBB_WEBHOOK member=$EBB_MEMBER" >&2
timeout "${ST_TIMEOUT:-240}" "$ST" --config-file "$work/ids-config.toml" "${args[@]}" \
  --report junit,ndjson --report-dir "$REPORT_DIR/ids" "${EXTRA[@]}" || status=$?
if [[ ${ST_RANDOM_IDS:-0} == 1 ]]; then
  echo "schemathesis-run: second pass, generated ids" >&2
  timeout "${ST_TIMEOUT:-240}" "$ST" --config-file "$work/random-config.toml" "${args[@]}" \
    --report junit,ndjson --report-dir "$REPORT_DIR/random" "${EXTRA[@]}" || { s=$?; ((status)) || status=$s; }
fi
if [[ -n ${ST_REPORT_DIR:-} ]]; then echo "schemathesis-run: reports in $REPORT_DIR" >&2; fi
exit "$status"
