#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with
# cargo-leptos, then runs every test:
#   1. unit tests (app, server) and integration tests on SQLite and on a
#      private PostgreSQL server started here on 127.0.0.1 (stopped at the end);
#   2. browser tests (scripts/e2e.sh): Playwright driving Debian's Chromium
#      against the real portal in demo mode on a fresh SQLite file, with the
#      Stripe stand-in (end2end/stripe-standin) as its Stripe and a real
#      registry (Debian's docker-registry) that skopeo pulls from.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
source scripts/pg.sh

WORK=$(mktemp -d /tmp/portcullis-test.XXXXXX)
cleanup() {
  pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "==> cargo leptos build"
cargo leptos build
# From here on plain cargo sees what cargo-leptos gave it: no rebuild.
source scripts/leptos-env.sh
echo "==> cargo build -p stripe-standin"
cargo build -p stripe-standin

pg_start
export PORTCULLIS_TEST_POSTGRES_URL="$PG_URL"

echo "==> unit and integration tests (SQLite and PostgreSQL)"
cargo test -p app -p server -p stripe-standin --features app/ssr --no-fail-fast 2>&1 | tee "$WORK/cargo-test.log"

# The stand-in, a registry and the portal on free loopback ports, then
# Playwright; each process is stopped by its PID when it ends.
bash scripts/e2e.sh 2>&1 | tee "$WORK/playwright.log"

# One closing line over both runners (each exited non-zero on any failure).
cargo_passed=$(awk '/^test result:/ {for (i = 1; i < NF; i++) if ($(i+1) == "passed;") n += $i} END {print n + 0}' "$WORK/cargo-test.log")
e2e_passed=$(awk '$2 == "passed" && $3 ~ /^\(/ {n = $1} END {print n + 0}' "$WORK/playwright.log")
echo "==> all tests passed"
echo "$((cargo_passed + e2e_passed)) passed, 0 failed"
