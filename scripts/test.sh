#!/usr/bin/env bash
# The README's test command: installs what is missing, builds (scripts/build.sh,
# what `cargo leptos build` would make), then runs every test, timing each stage:
#   1. unit tests (app, server, the Stripe stand-in's own tests);
#   2. integration tests on SQLite, then on a private PostgreSQL server started
#      here on 127.0.0.1 (stopped at the end): every integration test exists
#      twice, as `sqlite::NAME` and `postgres::NAME`;
#   3. the REST API's contract (scripts/api-contract.sh): schemathesis sends
#      generated requests to the real portal and checks every answer against
#      the OpenAPI document (no 5xx, no undocumented status or content type,
#      responses that match their schemas, schema-valid requests accepted);
#   4. the fleet under faults (scripts/fleet.sh): two replicas behind HAProxy
#      on a durable PostgreSQL with a real registry; revokes, limits and keys
#      across replicas, kill -9 under load, a database restart, notifications
#      while no replica runs;
#   5. browser tests (scripts/e2e.sh): Playwright driving Debian's Chromium
#      against the real portal in demo mode on a fresh SQLite file, with the
#      Stripe stand-in (end2end/stripe-standin) as its Stripe and a real
#      registry (Debian's docker-registry) that skopeo pulls from.
# A failing test stage does not stop the later ones; the script exits non-zero
# at the end if any failed. The stage times and a total close the output.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
STAGES=()
failed_stages=()
WORK=$(mktemp -d /tmp/portcullis-test.XXXXXX)
cleanup() {
  pg_stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# stage NAME COMMAND...: runs the command, records its time and outcome.
stage() {
  local name=$1; shift
  local t=$(date +%s) rc=0
  echo "==> [$name]"
  "$@" || rc=$?
  STAGES+=("$(printf '%-34s %5d s  %s' "$name" $(($(date +%s) - t)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")")")
  [ $rc -eq 0 ] || failed_stages+=("$name")
  return $rc
}
report() {
  echo "==> stage times"
  local s
  for s in "${STAGES[@]}"; do echo "  $s"; done
  printf '  %-34s %5d s\n' total $(($(date +%s) - T0))
}

stage install bash scripts/install.sh || { report; exit 1; }
stage "build (portal: server + wasm + css)" bash scripts/build.sh || { report; exit 1; }
# From here on plain cargo sees what build.sh gave it: no rebuild.
source scripts/leptos-env.sh
source scripts/pg.sh
stage "build (stand-in, test binaries)" \
  cargo test -p app -p server -p stripe-standin -p harbor-standin --features app/ssr --no-run || { report; exit 1; }

cargo_tests() { # LOG FILTER-ARGS...: one cargo test run over every test binary
  local log=$1; shift
  cargo test -p app -p server -p stripe-standin -p harbor-standin --features app/ssr --no-fail-fast -- "$@" 2>&1 | tee "$log"
}
pg_start
export PORTCULLIS_TEST_POSTGRES_URL="$PG_URL"
stage "unit tests (app, server, stand-in)" \
  cargo_tests "$WORK/unit.log" --skip sqlite:: --skip postgres:: || true
# Tests run in parallel, each with its own portal in the one test process.
# (Until 1 December 2026 they ran one at a time: a page request now and
# then never got its answer. The cause was leptos's process-wide
# `SuppressResourceLoad` flag, set while a portal generated its route list;
# `startup::route_list` now generates it once per process.)
stage "integration tests on SQLite" cargo_tests "$WORK/sqlite.log" sqlite:: || true
stage "integration tests on PostgreSQL" cargo_tests "$WORK/postgres.log" postgres:: || true
pg_stop

# The portal on a free loopback port and a fresh SQLite file, schemathesis
# against its OpenAPI document; bounded to about a minute.
contract() { bash scripts/api-contract.sh 2>&1 | tee "$WORK/contract.log"; }
stage "REST API contract (schemathesis)" contract || true

# PostgreSQL, two replicas, HAProxy and a registry on free loopback ports;
# seven checks, each counted as one test ("fleet: N passed, M failed").
fleet() { bash scripts/fleet.sh 2>&1 | tee "$WORK/fleet.log"; }
stage "fleet under faults (2 replicas)" fleet || true

# The stand-in, a registry and the portal on free loopback ports, then
# Playwright; each process is stopped by its PID when it ends.
e2e() { bash scripts/e2e.sh 2>&1 | tee "$WORK/playwright.log"; }
stage "browser tests (Playwright)" e2e || true

# One closing line over both runners.
count() { # WORD FILES...: sums cargo's "N WORD;" over its result lines
  local word=$1; shift
  cat "$@" | awk -v w="$word;" '/^test result:/ {for (i = 1; i < NF; i++) if ($(i+1) == w) n += $i} END {print n + 0}'
}
cargo_passed=$(count passed "$WORK"/unit.log "$WORK"/sqlite.log "$WORK"/postgres.log)
cargo_failed=$(count failed "$WORK"/unit.log "$WORK"/sqlite.log "$WORK"/postgres.log)
e2e_passed=$(awk '$2 == "passed" && $3 ~ /^\(/ {n = $1} END {print n + 0}' "$WORK/playwright.log")
e2e_failed=$(awk '$2 == "failed" {n = $1} END {print n + 0}' "$WORK/playwright.log")
# The contract stage's closing line: "api-contract: N passed, M failed" (API operations).
contract_passed=$(awk '$1 == "api-contract:" && $3 == "passed," {n = $2} END {print n + 0}' "$WORK/contract.log")
contract_failed=$(awk '$1 == "api-contract:" && $5 == "failed" {n = $4} END {print n + 0}' "$WORK/contract.log")
fleet_passed=$(awk '$1 == "fleet:" && $3 == "passed," {n = $2} END {print n + 0}' "$WORK/fleet.log")
fleet_failed=$(awk '$1 == "fleet:" && $5 == "failed" {n = $4} END {print n + 0}' "$WORK/fleet.log")
passed=$((cargo_passed + contract_passed + fleet_passed + e2e_passed))
report
if ((${#failed_stages[@]})); then
  echo "==> failed stages: ${failed_stages[*]}"
  # A stage can fail without a counted test failure (e.g. a script error).
  total_failed=$((cargo_failed + contract_failed + fleet_failed + e2e_failed)); [ "$total_failed" -gt 0 ] || total_failed=1
  echo "$passed passed, $total_failed failed"
  exit 1
fi
echo "==> all tests passed"
echo "$passed passed, 0 failed"
