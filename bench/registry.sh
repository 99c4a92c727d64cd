#!/usr/bin/env bash
# Benchmark (not a test) of the registry token service. Prints figures,
# whatever they are; the aim (durable audit on both databases) is ≥ 15,000
# grants/s with wrk on 2 cores, p99 < 15 ms, ≥ 0.6 × the baseline route
# (/livez, which touches nothing), RSS < 120 MB.
# For SQLite, then PostgreSQL (a private server from scripts/pg.sh):
#   1. seeds 10,000 customers × 5 entitlements (20 products), one pull
#      credential each (server/examples/bench_registry.rs);
#   2. runs the release `portcullis serve` (not demo) and loads
#      GET /registry/token (Basic auth, rotating over the customers, each
#      asking for one of its repositories) at concurrency 64, then /livez the
#      same way against the same process, with the project's own client and
#      with Debian's `wrk` (1 thread, 64 connections, the same requests from a
#      generated Lua script); prints requests/s, p50/p99, the ratio and RSS;
#   3. stops the portal with SIGTERM and checks that the granted
#      `registry.token` audit rows cover every token the clients received
#      (a token leaves only after its row is committed);
#   PostgreSQL runs with its default durability (fsync and
#   synchronous_commit on: PG_DURABLE=1 of scripts/pg.sh); SQLite as the
#   portal runs it (WAL, synchronous=NORMAL).
#   4. pulls a small image with skopeo through the token service, and the
#      same image from the same storage through a second registry without auth.
# Usage: bash bench/registry.sh [SECONDS] [CUSTOMERS]   (defaults 30 and 10000;
#        SECONDS at most 120). BENCH_PULLS (default 20) pulls per side.
#        BENCH_BACKENDS="sqlite postgres" (default both).
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD_SECS=${1:-30}; CUSTOMERS=${2:-10000}
[ "$LOAD_SECS" -le 120 ] || LOAD_SECS=120
CONCURRENCY=64; WARMUP_SECS=3
PULLS=${BENCH_PULLS:-20}; [ "$PULLS" -le 200 ] || PULLS=200
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
bash scripts/install.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
source scripts/registry.sh
source scripts/pg.sh

# The release portal and the helper. /registry/token and /livez need no wasm,
# so plain cargo is enough; the release environment of scripts/build.sh, so
# its build (bench/run.sh) is reused, not rebuilt.
source scripts/leptos-env.sh --release
echo "==> cargo build --release (portcullis, examples/bench_registry)"
cargo build --release --quiet -p server --bin portcullis --example bench_registry
BIN=target/release/portcullis
HELPER=target/release/examples/bench_registry

WORK=$(mktemp -d /tmp/portcullis-bench-registry.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

PORTAL_PID=""
start_portal() { # URL DIR PORT
  PORTCULLIS_DATABASE_URL="$1" PORTCULLIS_SESSION_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  LEPTOS_SITE_ADDR="127.0.0.1:$3" PORTCULLIS_REGISTRY_KEY_DIR="$2/keys" PORTCULLIS_LOG=warn \
    "$BIN" serve >>"$2/server.log" 2>&1 &
  PORTAL_PID=$!; PIDS+=("$PORTAL_PID")
  wait_http "http://127.0.0.1:$3/readyz" 200 || { cat "$2/server.log"; exit 1; }
}
stop_portal() { # SIGTERM: a clean shutdown drains the audit queue
  kill -TERM "$PORTAL_PID"; wait "$PORTAL_PID" || true
}
field() { awk -v k="$1" -v i="$2" '$1 == "result" && $2 == k {print $i}' "$3"; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else print a[int((NR+1)/2)]}'; }

declare -A R
run_backend() { # LABEL URL
  local label=$1 url=$2 dir="$WORK/$1"
  mkdir -p "$dir"
  echo
  echo "==> $label: seeding $CUSTOMERS customers"
  "$HELPER" seed "$url" "$CUSTOMERS" | tee "$dir/seed.txt" | grep -v '^push '
  local push_user push_secret
  read -r _ push_user push_secret < <(grep '^push ' "$dir/seed.txt")

  local port; port=$(free_port)
  start_portal "$url" "$dir" "$port"
  local base="http://127.0.0.1:$port"
  echo "==> $label: warm-up ${WARMUP_SECS}s, then /registry/token for ${LOAD_SECS}s at concurrency $CONCURRENCY"
  "$HELPER" load "$base" token "$WARMUP_SECS" "$CONCURRENCY" "$CUSTOMERS" >"$dir/warmup.txt"
  "$HELPER" load "$base" token "$LOAD_SECS" "$CONCURRENCY" "$CUSTOMERS" >"$dir/token.txt"
  echo "==> $label: /livez for ${LOAD_SECS}s at concurrency $CONCURRENCY (same process)"
  "$HELPER" load "$base" livez "$LOAD_SECS" "$CONCURRENCY" "$CUSTOMERS" >"$dir/healthz.txt"
  echo "==> $label: wrk (1 thread, $CONCURRENCY connections): /registry/token, then /livez, ${LOAD_SECS}s each"
  "$HELPER" wrk-lua "$CUSTOMERS" >"$dir/token.lua"
  wrk -t1 -c"$CONCURRENCY" -d"${LOAD_SECS}s" --latency -s "$dir/token.lua" "$base" >"$dir/wrk-token.txt"
  wrk -t1 -c"$CONCURRENCY" -d"${LOAD_SECS}s" --latency "$base/livez" >"$dir/wrk-livez.txt"
  R[$label.rss]=$(awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$PORTAL_PID/status")
  stop_portal
  "$HELPER" count "$url" >"$dir/count.txt"

  # Tokens the clients received: the own client's grants, and wrk's answers
  # that were not errors (every 2xx of this load is a grant).
  local received rows wrk_total wrk_bad
  wrk_total=$(awk '/requests in/ {print $1}' "$dir/wrk-token.txt")
  wrk_bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$dir/wrk-token.txt"); wrk_bad=${wrk_bad:-0}
  received=$(( $(field token 4 "$dir/warmup.txt") + $(field token 4 "$dir/token.txt") + wrk_total - wrk_bad ))
  rows=$(awk '$2 == "registry.token.success" {print $3}' "$dir/count.txt"); rows=${rows:-0}
  wrk_rps() { awk '/^Requests\/sec/ {printf "%d", $2}' "$1"; }
  wrk_pct() { awk -v p="$2" '$1 == p {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) sub(/ms/, "", v); else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; printf "%.2f", v}' "$1"; }
  R[$label.wrk]=$(wrk_rps "$dir/wrk-token.txt"); R[$label.wrk50]=$(wrk_pct "$dir/wrk-token.txt" 50%)
  R[$label.wrk99]=$(wrk_pct "$dir/wrk-token.txt" 99%); R[$label.wrklivez]=$(wrk_rps "$dir/wrk-livez.txt")
  R[$label.grants]=$(field token 7 "$dir/token.txt"); R[$label.p50]=$(field token 8 "$dir/token.txt")
  R[$label.p99]=$(field token 9 "$dir/token.txt"); R[$label.requests]=$(field token 3 "$dir/token.txt")
  R[$label.granted]=$(field token 4 "$dir/token.txt"); R[$label.other]=$(field token 5 "$dir/token.txt")
  R[$label.errors]=$(field token 6 "$dir/token.txt")
  R[$label.health]=$(field livez 7 "$dir/healthz.txt"); R[$label.hp50]=$(field livez 8 "$dir/healthz.txt")
  R[$label.hp99]=$(field livez 9 "$dir/healthz.txt")
  R[$label.made]=$received; R[$label.rows]=$rows
  echo "    token:   $(cat "$dir/token.txt")"
  echo "    livez:   $(cat "$dir/healthz.txt")"
  echo "    wrk token: ${R[$label.wrk]}/s p50 ${R[$label.wrk50]} ms p99 ${R[$label.wrk99]} ms; wrk livez: ${R[$label.wrklivez]}/s; RSS ${R[$label.rss]} MB"
  echo "    granted registry.token audit rows: $rows; tokens the clients received: $received"

  # A real pull: through the token service vs. the same storage without auth.
  echo "==> $label: skopeo pulls ($PULLS each side)"
  start_portal "$url" "$dir" "$port"
  local rport aport
  rport=$(free_port); aport=$(free_port)
  PORTCULLIS_DATABASE_URL="$url" PORTCULLIS_SESSION_SECRET=bench-secret-bench-secret-bench-secret-0123 \
  PORTCULLIS_REGISTRY_KEY_DIR="$dir/keys" PORTCULLIS_LOG=error \
    "$BIN" registry config --out "$dir/registry" --listen "127.0.0.1:$rport" --portal-url "$base" >/dev/null
  sed -i 's/^  level: info/  level: error/' "$dir/registry/config.yml"
  cat >"$dir/noauth.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: "$dir/registry/storage"}
http: {addr: "127.0.0.1:$aport"}
EOF
  docker-registry serve "$dir/registry/config.yml" >"$dir/registry.log" 2>&1 & PIDS+=($!); local reg_pid=$!
  docker-registry serve "$dir/noauth.yml" >"$dir/noauth.log" 2>&1 & PIDS+=($!); local open_pid=$!
  wait_http "http://127.0.0.1:$rport/v2/" 401 && wait_http "http://127.0.0.1:$aport/v2/" 200
  build_demo_image "$dir/image"
  skopeo_isolated "$dir/skopeo" copy --quiet --dest-tls-verify=false --dest-creds "$push_user:$push_secret" \
    "oci:$dir/image/oci:1.0" "docker://127.0.0.1:$rport/acme/p0:1.0"
  local i t0 ok=0
  : >"$dir/auth.ms"; : >"$dir/open.ms"
  for i in $(seq 0 "$PULLS"); do # pull 0 of each side is a warm-up
    rm -rf "$dir/pulled"; t0=$(ms_now)
    skopeo_isolated "$dir/skopeo" copy --quiet --src-tls-verify=false --src-creds pull-bench0:bench-secret-0 \
      "docker://127.0.0.1:$rport/acme/p0:1.0" "dir:$dir/pulled" && ok=$((ok + 1))
    [ "$i" -gt 0 ] && echo $(( $(ms_now) - t0 )) >>"$dir/auth.ms"
    rm -rf "$dir/pulled"; t0=$(ms_now)
    skopeo_isolated "$dir/skopeo" copy --quiet --src-tls-verify=false \
      "docker://127.0.0.1:$aport/acme/p0:1.0" "dir:$dir/pulled"
    [ "$i" -gt 0 ] && echo $(( $(ms_now) - t0 )) >>"$dir/open.ms"
  done
  R[$label.pull_ok]=$ok
  R[$label.pull_auth]=$(median <"$dir/auth.ms"); R[$label.pull_open]=$(median <"$dir/open.ms")
  echo "    pull through the token service: median ${R[$label.pull_auth]} ms ($ok of $((PULLS + 1)) succeeded)"
  echo "    pull without auth:              median ${R[$label.pull_open]} ms"
  kill "$reg_pid" "$open_pid" 2>/dev/null || true; wait "$reg_pid" "$open_pid" 2>/dev/null || true
  stop_portal
}

for b in $BACKENDS; do
  case $b in
    sqlite) run_backend sqlite "sqlite://$WORK/bench.db" ;;
    postgres) PG_DURABLE=1 pg_start; run_backend postgres "$PG_URL"; pg_stop ;;
    *) echo "unknown backend $b" >&2; exit 2 ;;
  esac
done

ratio() { python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print(f'{a / b:.2f}' if b else 'n/a')" "$1" "$2"; }
echo
echo "== Registry token service benchmark ($(nproc) cores, $(date -u +%Y-%m-%d), release build)"
echo "   $CUSTOMERS customers × 5 entitlements, concurrency $CONCURRENCY, ${LOAD_SECS} s per endpoint and client"
echo "   durable audit: a token leaves after its row commits; PostgreSQL with its default durability (fsync, synchronous_commit on)"
echo "   aim: ≥ 15,000 grants/s with wrk, p99 < 15 ms, ≥ 0.6 × /livez, RSS < 120 MB"
printf '  %-9s %10s %8s %8s %10s %8s %8s %9s %8s %9s %7s %20s %14s\n' backend grants/s p50_ms p99_ms livez/s p50_ms p99_ms ratio wrk/s wrk_p99 RSS_MB "rows>=tokens" "pull auth/open"
for b in $BACKENDS; do
  check="no"; [ "${R[$b.rows]:-0}" -ge "${R[$b.made]:-1}" ] && check="yes"
  printf '  %-9s %10s %8s %8s %10s %8s %8s %9s %8s %9s %7s %20s %14s\n' "$b" "${R[$b.grants]}" "${R[$b.p50]}" "${R[$b.p99]}" \
    "${R[$b.health]}" "${R[$b.hp50]}" "${R[$b.hp99]}" "$(ratio "${R[$b.wrk]}" "${R[$b.wrklivez]}")" \
    "${R[$b.wrk]}" "${R[$b.wrk99]}" "${R[$b.rss]}" "$check (${R[$b.rows]}/${R[$b.made]})" "$(ratio "${R[$b.pull_auth]}" "${R[$b.pull_open]}")"
  echo "            token requests ${R[$b.requests]}: granted ${R[$b.granted]}, other answers ${R[$b.other]}, errors ${R[$b.errors]};" \
    "skopeo pull median ${R[$b.pull_auth]} ms via the token service vs ${R[$b.pull_open]} ms without auth"
done
