#!/usr/bin/env bash
# Benchmark (not a test): builds the release portal, then prints
#   - SSR time of the login page, p50/p99 over a few thousand requests;
#   - the size of the wasm, JS and CSS the browser downloads, raw and brotli,
#     a first load's total and each lazy route's (bench/payload.sh);
#   - may_pull (the access check) per second and p50/p99, 10,000 customers ×
#     5 entitlements, on SQLite (and PostgreSQL with BENCH_POSTGRES=1);
#   - then bench/registry.sh: /registry/token grants per second vs. /livez,
#     audit rows = requests, skopeo pull with vs. without the token service,
#     on SQLite and PostgreSQL (BENCH_REGISTRY=0 skips it; ~5 min).
# Usage: bash bench/run.sh [REQUESTS]   (default 3000; at most 120 s of load)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
REQUESTS=${1:-3000}

echo "==> release build (scripts/build.sh --release: wasm-opt -Oz, minified JS and CSS)"
bash scripts/build.sh --release
source scripts/leptos-env.sh --release

WORK=$(mktemp -d /tmp/portcullis-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LEPTOS_OUTPUT_NAME=portcullis LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
PORTCULLIS_DATABASE_URL="sqlite://$WORK/bench.db" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" PORTCULLIS_LOG=warn \
  target/release/portcullis serve --demo >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo
echo "== Portcullis benchmark ($(nproc) cores, $(date -u +%Y-%m-%d))"
python3 bench/ssr.py "http://127.0.0.1:$PORT" "$REQUESTS" 120

echo
bash bench/payload.sh --no-build

echo
echo "==> access check (may_pull), release build"
cargo run --quiet --release -p server --example bench_access -- "" 10000 10
if [ -n "${BENCH_POSTGRES:-}" ]; then
  source scripts/pg.sh; pg_start; trap 'pg_stop; cleanup' EXIT
  cargo run --quiet --release -p server --example bench_access -- "$PG_URL" 10000 10
fi

if [ "${BENCH_REGISTRY:-1}" != "0" ]; then
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
  echo
  echo "==> registry token service (bench/registry.sh)"
  bash bench/registry.sh
fi
