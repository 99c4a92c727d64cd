#!/usr/bin/env bash
# The REST API against its own OpenAPI document (scripts/test.sh runs it after
# the PostgreSQL stage; run it alone after `bash scripts/build.sh` and
# `bash scripts/install.sh`). Arguments go to schemathesis, e.g. --seed 7.
#
#   1. the built portal (target/debug/portcullis) on a fresh SQLite file in a
#      temporary folder, on a free loopback port;
#   2. an admin API key (`portcullis apikey create`), a seeded catalogue (a
#      published product, a customer, an entitlement, a pull credential, the
#      customer's request for sales, asked through its session: id 1 each, so
#      the boundary values schemathesis tries reach real records) and
#      an admin's push credential (`portcullis credential create --push`,
#      which the API must answer 404 for);
#   3. schemathesis (PyPI, in .venv/, installed by scripts/install.sh) with the
#      checks not_a_server_error, status_code_conformance,
#      content_type_conformance, response_schema_conformance and
#      positive_data_acceptance, positive and negative requests, bounded in
#      examples and time; scripts/api_contract_hooks.py drops the generated
#      requests that break a rule between two values JSON Schema cannot state.
#
# Exits non-zero on any failure; the portal is stopped by its PID.
# API_CONTRACT_SEED fixes the random seed (default: a fixed one, so CI runs
# the same sequence of requests; `API_CONTRACT_SEED=random` draws a new one);
# API_CONTRACT_MAX_EXAMPLES (default 12) and API_CONTRACT_MAX_TIME (seconds,
# default 60) bound the run; API_CONTRACT_DATABASE_URL runs it on another
# empty database. API_CONTRACT_KEEP=1 keeps the folder (logs,
# database, schemathesis' JUnit report).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/registry.sh # free_port, wait_http

BIN=target/debug/portcullis
ST=.venv/bin/schemathesis
[ -x "$BIN" ] || { echo "api-contract.sh: $BIN is missing: run bash scripts/build.sh" >&2; exit 1; }
[ -x "$ST" ] || { echo "api-contract.sh: $ST is missing: run bash scripts/install.sh" >&2; exit 1; }

WORK=$(mktemp -d /tmp/portcullis-contract.XXXXXX)
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    echo "--- last lines of server.log"
    tail -n 30 "$WORK/server.log"
  fi
  if [ "${API_CONTRACT_KEEP:-0}" = "1" ]; then echo "api-contract.sh: kept $WORK"; else rm -rf "$WORK"; fi
  return "$rc"
}
trap cleanup EXIT

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
# API_CONTRACT_DATABASE_URL: another empty database (e.g. a fresh PostgreSQL one).
export PORTCULLIS_DATABASE_URL=${API_CONTRACT_DATABASE_URL:-"sqlite://$WORK/contract.db"}
export PORTCULLIS_REGISTRY_KEY_DIR="$WORK/registry-keys"
export PORTCULLIS_SESSION_SECRET
PORTCULLIS_SESSION_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

echo "==> portal on $BASE (database: ${PORTCULLIS_DATABASE_URL%%\?*})"
LEPTOS_SITE_ADDR="127.0.0.1:$PORT" PORTCULLIS_BASE_URL="$BASE" PORTCULLIS_LOG=warn \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_http "$BASE/healthz" 200 || { echo "api-contract.sh: the portal does not answer" >&2; exit 1; }

KEY=$("$BIN" apikey create --name contract --role admin | awk '/^secret/ {print $NF}')
[ -n "$KEY" ] || { echo "api-contract.sh: no API key made" >&2; exit 1; }

# api METHOD PATH [JSON]: one call with the admin key; fails on a non-2xx answer.
api() {
  local out
  out=$(curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}' "$BASE/api/v1$2")
  case "${out##*$'\n'}" in
    2??) ;;
    *) echo "api-contract.sh: seeding $1 $2 answered: $out" >&2; return 1 ;;
  esac
}
echo "==> seeding (product, customer, entitlement, pull credential, a request for sales; a push credential)"
BUYER_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
api POST /customers "{\"email\":\"buyer@example.com\",\"name\":\"Buyer Ltd\",\"password\":\"$BUYER_PASSWORD\"}"
api POST /products '{"name":"Widget","slug":"widget","contact_sales":true,"repositories":["acme/widget","acme/widget-*"],"prices":[{"kind":"monthly","amount_cents":4900,"currency":"eur"}]}'
api PATCH /products/1 '{"status":"published"}'
api POST /entitlements '{"customer_id":1,"product_id":1}'
api POST /customers/1/credentials '{"name":"production cluster"}'
# The customer asks sales from the product page (a session, as the browser does).
fn() {
  local out
  out=$(curl -sS --max-time 10 -b "$WORK/cookies" -c "$WORK/cookies" -H "Origin: $BASE" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$2" -w '\n%{http_code}' "$BASE/fn/$1")
  case "${out##*$'\n'}" in
    2??) ;;
    *) echo "api-contract.sh: seeding /fn/$1 answered: $out" >&2; return 1 ;;
  esac
}
fn login "email=buyer%40example.com&password=$BUYER_PASSWORD"
fn my/request_access 'slug=widget&kind=contact&message=Two+hundred+seats%3F'
printf '%s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')" \
  | "$BIN" user create --email ci@example.com --role admin >/dev/null
"$BIN" credential create --email ci@example.com --name ci --push >/dev/null

SEED=${API_CONTRACT_SEED:-20261201}
seed_args=()
[ "$SEED" = random ] || seed_args=(--seed "$SEED")
echo "==> schemathesis $("$ST" --version | awk '{print $NF}') against $BASE/api/v1/openapi.json"
# One worker: schemathesis' workers are threads, and Hypothesis and CPython
# 3.11's ast.parse are not thread-safe (seen here: "AST constructor recursion
# depth mismatch" as a Runtime Error). The time bound keeps the run short.
# Run in the temporary folder: schemathesis keeps a cache (.schemathesis/) in
# its working folder, and each run starts fresh. The hooks module is found on
# PYTHONPATH (no bytecode written into scripts/).
ROOT=$PWD
cd "$WORK"
rc=0
PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=api_contract_hooks PYTHONDONTWRITEBYTECODE=1 \
  "$ROOT/$ST" run "$BASE/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,positive_data_acceptance \
  --header "Authorization: Bearer $KEY" \
  --mode all \
  --phases examples,coverage,fuzzing \
  --max-examples "${API_CONTRACT_MAX_EXAMPLES:-12}" \
  --max-time "${API_CONTRACT_MAX_TIME:-60}" \
  --request-timeout 10 \
  --workers 1 \
  --suppress-health-check all \
  --report junit --report-junit-path "$WORK/junit.xml" \
  "${seed_args[@]}" "$@" || rc=$?

# One closing line for scripts/test.sh's totals: API operations without and with a failure.
if [ -s "$WORK/junit.xml" ]; then
  python3 - "$WORK/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
failed = passed = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is None:
        passed += 1
print(f"api-contract: {passed} passed, {failed} failed")
PY
fi
exit "$rc"
