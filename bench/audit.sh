#!/usr/bin/env bash
# Benchmark (not a test) of the auditor's queries at scale. Prints figures,
# whatever they are; the aim is p95 < 50 ms for the first and the 100th page.
# For SQLite, then PostgreSQL (a private server from scripts/pg.sh): fills
# audit_events to ROWS rows with SQL (server/examples/bench_audit.rs; prints
# the fill time), indexes them for text search with the portal's own
# back-fill (prints the index build time), seals them into the hash chain
# (printing events/s), then times the first page and the 100th page (by
# keyset) of common filters (none, action, outcome, customer, credential,
# repository, a product (its repository), IP, time ranges, combinations) and text searches (`q`: an
# early hit, a rare hit, no hit, one character, combined with before=, an
# action, a customer, a time range) through the portal's own query code,
# under its default time limit; prints p50 and p95 in ms (`limit`: stopped
# by the time limit, which the portal answers 422 search_too_broad).
# Usage: bash bench/audit.sh [ROWS] [SAMPLES]   (defaults 10000000 and 40).
#        BENCH_BACKENDS="sqlite postgres" (default both). The fill takes
#        minutes at 10M rows (bounded at 60 min), the text index minutes
#        more; each timing at most 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}; SAMPLES=${2:-40}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
source scripts/leptos-env.sh --release
source scripts/pg.sh
WORK=$(mktemp -d /tmp/portcullis-bench-audit.XXXXXX)
cleanup() { pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT

echo "==> cargo build --release --example bench_audit"
cargo build --release -p server --example bench_audit
BIN=target/release/examples/bench_audit

echo
echo "== Audit log queries ($(nproc) cores, $(date -u +%Y-%m-%d))"
for backend in $BACKENDS; do
  case $backend in
    sqlite) "$BIN" "sqlite://$WORK/audit.db" "$ROWS" "$SAMPLES" ;;
    postgres) pg_start; "$BIN" "$PG_URL" "$ROWS" "$SAMPLES"; pg_stop ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done
