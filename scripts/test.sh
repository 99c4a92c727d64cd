#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with
# cargo-leptos, then runs every test:
#   1. unit tests (app, server) and integration tests on SQLite and on a
#      private PostgreSQL server started here on 127.0.0.1 (stopped at the end);
#   2. browser tests: Playwright driving Debian's Chromium against the real
#      portal in demo mode on a fresh SQLite file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
source scripts/pg.sh

WORK=$(mktemp -d /tmp/portcullis-test.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> cargo leptos build"
cargo leptos build
# From here on plain cargo sees what cargo-leptos gave it: no rebuild.
source scripts/leptos-env.sh

pg_start
export PORTCULLIS_TEST_POSTGRES_URL="$PG_URL"

echo "==> unit and integration tests (SQLite and PostgreSQL)"
cargo test -p app -p server --features app/ssr --no-fail-fast 2>&1 | tee "$WORK/cargo-test.log"

echo "==> browser tests (Playwright + Chromium)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORTCULLIS_DATABASE_URL="sqlite://$WORK/e2e.db" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" PORTCULLIS_LOG=warn \
  target/debug/portcullis serve --demo >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.2
done
demo_password() { awk -v role="$1" '$1 == "demo" && $2 == role {print $NF}' "$WORK/server.log"; }
export E2E_BASE_URL="http://127.0.0.1:$PORT"
export E2E_ADMIN_PASSWORD=$(demo_password admin)
export E2E_AUDITOR_PASSWORD=$(demo_password auditor)
export E2E_CUSTOMER_PASSWORD=$(demo_password customer)
[ -n "$E2E_ADMIN_PASSWORD" ] || { echo "demo passwords not printed:"; cat "$WORK/server.log"; exit 1; }
(cd end2end && ../node_modules/.bin/playwright test) 2>&1 | tee "$WORK/playwright.log"

# One closing line over both runners (each exited non-zero on any failure).
cargo_passed=$(awk '/^test result:/ {for (i = 1; i < NF; i++) if ($(i+1) == "passed;") n += $i} END {print n + 0}' "$WORK/cargo-test.log")
e2e_passed=$(awk '$2 == "passed" && $3 ~ /^\(/ {n = $1} END {print n + 0}' "$WORK/playwright.log")
echo "==> all tests passed"
echo "$((cargo_passed + e2e_passed)) passed, 0 failed"
