#!/usr/bin/env bash
# The fleet under faults (scripts/test.sh runs it after the REST API contract
# stage; run it alone after `bash scripts/build.sh`). Everything on 127.0.0.1,
# on free ports, in a fresh temporary folder:
#
#   - a private PostgreSQL (scripts/pg.sh, PG_DURABLE=1: real commits);
#   - two replicas A and B (`target/debug/portcullis serve`) on that database
#     with the same session secret, key-encryption key, metrics token, a
#     small log-in limit and PORTCULLIS_REGISTRY_CACHE_MS=250;
#   - HAProxy (Debian's) in front of both: roundrobin, `GET /readyz` as the
#     health check; started in the foreground as a child;
#   - a real registry (docker-registry) whose token realm and notifications
#     point at HAProxy (`portcullis registry config`), its notification
#     backoff shortened to 1 s;
#   - seeding through the CLI and the REST API (through HAProxy): a product
#     with acme/widget, a customer, an entitlement, pull credentials; an
#     admin's push credential; a small umoci image pushed with skopeo.
#
# Then seven checks, each one line `ok - NAME` or `not ok - NAME: why`:
#   1. pulls through the balancer; both replicas granted tokens (/metrics);
#   2. a credential revoked on A is refused by B after the cache bound;
#   3. log-in limits hold across A and B (429 with Retry-After);
#   4. a key added and activated: A and B sign with it within ~3 s;
#   5. kill -9 of A under token load: every token received has its audit
#      row, B keeps granting, seals, and runs the jobs; the chain verifies;
#   6. PostgreSQL down 6 s under load on B: every request answered within
#      the commit bound (5 s) by a token or a clean 503 JSON error, never a
#      hang; every token received has its audit row; /readyz 503 then 200;
#      B grants again without a restart;
#   7. the portal down while the registry sends a pull event: the registry
#      retries, the event is recorded once, a replayed delivery adds nothing.
# The last line: `fleet: N passed, M failed` (scripts/test.sh adds them up),
# after the stage's time. Every process started here is stopped by its PID;
# FLEET_KEEP=1 keeps the folder (logs, configs) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/registry.sh # free_port, wait_http, build_demo_image, skopeo_isolated
source scripts/pg.sh       # pg_start, pg_stop, pg_restart

BIN=target/debug/portcullis
[ -x "$BIN" ] || { echo "fleet.sh: $BIN is missing: run bash scripts/build.sh" >&2; exit 1; }
for tool in haproxy docker-registry skopeo umoci psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "fleet.sh: $tool is missing: run bash scripts/install.sh" >&2; exit 1; }
done

T0=$(date +%s.%N)
WORK=$(mktemp -d /tmp/portcullis-fleet.XXXXXX)
A_PID="" B_PID="" HAP_PID="" REG_PID="" CLIENT_PID=""
PASSED=0 FAILED=0 WHY=""

# A process is running (a zombie not yet reaped is not).
running() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaped.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do running "$pid" || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
since() { python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.1f}")' "$1"; }
now() { date +%s.%N; }

cleanup() {
  local rc=$?
  set +e
  stop_pid "$CLIENT_PID"
  stop_pid "$HAP_PID"
  stop_pid "$A_PID"
  stop_pid "$B_PID"
  stop_pid "$REG_PID"
  pg_stop
  [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
  if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
    for log in a b a2 haproxy registry; do
      [ -s "$WORK/$log.log" ] && { echo "--- last lines of $log.log"; tail -n 25 "$WORK/$log.log"; }
    done
  fi
  if [ "${FLEET_KEEP:-0}" = 1 ]; then echo "fleet.sh: kept $WORK"; else rm -rf "$WORK"; fi
  # A failure outside the checks (setup, a script error) counts as one.
  [ "$rc" -eq 0 ] || [ "$FAILED" -gt 0 ] || FAILED=1
  echo "fleet: stage time $(since "$T0") s"
  echo "fleet: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] || exit 1
  exit "$rc"
}
trap cleanup EXIT

# check NAME FUNCTION: one line for the check; the function returns non-zero
# with WHY set when it fails (functions run under `if`, so errexit is off in
# them: each checks what it runs).
check() {
  local name=$1; shift
  local t; t=$(now)
  WHY="" DETAIL=""
  if "$@"; then
    PASSED=$((PASSED + 1))
    echo "ok - $name (${DETAIL:+$DETAIL; }$(since "$t") s)"
  else
    FAILED=$((FAILED + 1))
    echo "not ok - $name: ${WHY:-failed}"
  fi
}
fail() { WHY=$*; return 1; }
setup_failed() { FAILED=$((FAILED + 1)); echo "not ok - setup: $*"; exit 1; }

# ---------------------------------------------------------------- setup
A_PORT=$(free_port); B_PORT=$(free_port); HAP_PORT=$(free_port); REG_PORT=$(free_port)
while [ "$B_PORT" = "$A_PORT" ]; do B_PORT=$(free_port); done
while [ "$HAP_PORT" = "$A_PORT" ] || [ "$HAP_PORT" = "$B_PORT" ]; do HAP_PORT=$(free_port); done
while [ "$REG_PORT" = "$A_PORT" ] || [ "$REG_PORT" = "$B_PORT" ] || [ "$REG_PORT" = "$HAP_PORT" ]; do REG_PORT=$(free_port); done
A_URL="http://127.0.0.1:$A_PORT" B_URL="http://127.0.0.1:$B_PORT" HAP_URL="http://127.0.0.1:$HAP_PORT"
REG_HOST="127.0.0.1:$REG_PORT"
LOGIN_LIMIT=4

PG_DURABLE=1 pg_start
psql -q -X -v ON_ERROR_STOP=1 "$PG_URL" -c 'CREATE DATABASE portcullis_fleet' >/dev/null || setup_failed "cannot create the database"
DB_URL="${PG_URL%/postgres}/portcullis_fleet"
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"; }

# What every replica and every `portcullis` command here shares.
random_hex() { python3 -c 'import secrets, sys; print(secrets.token_hex(int(sys.argv[1])))' "$1"; }
export PORTCULLIS_DATABASE_URL="$DB_URL"
export PORTCULLIS_SESSION_SECRET; PORTCULLIS_SESSION_SECRET=$(random_hex 32)
export PORTCULLIS_KEY_ENCRYPTION_KEY; PORTCULLIS_KEY_ENCRYPTION_KEY=$(random_hex 32)
export PORTCULLIS_METRICS_TOKEN; PORTCULLIS_METRICS_TOKEN=$(random_hex 24)
export PORTCULLIS_LOGIN_LIMIT_PER_IP=$LOGIN_LIMIT
export PORTCULLIS_REGISTRY_CACHE_MS=250
export PORTCULLIS_BASE_URL="$HAP_URL"
export PORTCULLIS_REGISTRY_HOST="$REG_HOST"
export PORTCULLIS_REGISTRY_KEY_DIR="$WORK/no-key-folder"
export PORTCULLIS_LOG=warn

# start_replica a|b: the portal on its port, as a child; its lease holder
# name starts with fleet-a- / fleet-b- (HOSTNAME), its log is WORK/NAME.log.
start_replica() {
  local name=$1 port pid
  port=$([ "$name" = a ] && echo "$A_PORT" || echo "$B_PORT")
  HOSTNAME="fleet-$name" LEPTOS_SITE_ADDR="127.0.0.1:$port" "$BIN" serve >>"$WORK/$name.log" 2>&1 &
  pid=$!
  if [ "$name" = a ]; then A_PID=$pid; else B_PID=$pid; fi
}
start_replica a
start_replica b
wait_http "$A_URL/readyz" 200 || setup_failed "replica A does not answer"
wait_http "$B_URL/readyz" 200 || setup_failed "replica B does not answer"
echo "==> replicas A $A_URL (pid $A_PID) and B $B_URL (pid $B_PID) on $(psql -X -At "$DB_URL" -c 'SHOW server_version' | awk '{print $1}') PostgreSQL"

cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout check 2s
    retries 2
    option redispatch
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 250ms fall 2 rise 1
frontend portal
    bind 127.0.0.1:$HAP_PORT
    # The registry's notifications get a round robin of their own, so that
    # each pull's token request (one per pull) alternates between A and B.
    use_backend notifications if { path_beg /registry/events }
    default_backend replicas
backend replicas
    server a 127.0.0.1:$A_PORT check
    server b 127.0.0.1:$B_PORT check
backend notifications
    server a 127.0.0.1:$A_PORT check
    server b 127.0.0.1:$B_PORT check
EOF
haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAP_PID=$!
wait_http "$HAP_URL/readyz" 200 || setup_failed "HAProxy does not answer"
echo "==> HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') on $HAP_URL (pid $HAP_PID)"

# The registry's config from the database's keys, pointing at HAProxy; a
# failed notification is retried every `backoff` (5 s as written: 1 s here).
write_registry_config() {
  "$BIN" registry config --out "$WORK/registry" --listen "$REG_HOST" --portal-url "$HAP_URL" >/dev/null || return 1
  sed -i 's/^      backoff: .*/      backoff: 1s/' "$WORK/registry/config.yml"
}
start_registry() {
  docker-registry serve "$WORK/registry/config.yml" >>"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  wait_http "http://$REG_HOST/v2/" 401
}
write_registry_config || setup_failed "portcullis registry config failed"
start_registry || setup_failed "the registry does not answer"
echo "==> registry on $REG_HOST (pid $REG_PID): realm and notifications at $HAP_URL"

KEY=$("$BIN" apikey create --name fleet --role admin | awk '/^secret/ {print $NF}')
[ -n "$KEY" ] || setup_failed "no API key made"
# api METHOD PATH [JSON] [BASE]: one REST call with the admin key (through
# HAProxy unless BASE says otherwise); prints the body, fails on a non-2xx.
api() {
  local out
  out=$(curl -sS --max-time 10 -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}' "${4:-$HAP_URL}/api/v1$2") || return 1
  case "${out##*$'\n'}" in
    2??) printf '%s\n' "${out%$'\n'*}" ;;
    *) echo "fleet.sh: $1 $2 answered: $out" >&2; return 1 ;;
  esac
}
json() { python3 -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }

echo "==> seeding through $HAP_URL (product, customer, entitlement, pull credentials; a push credential)"
CUSTOMER=$(api POST /customers '{"email":"buyer@example.com","name":"Buyer Ltd"}' | json id) || setup_failed "customer"
PRODUCT=$(api POST /products '{"name":"Widget","slug":"widget","repositories":["acme/widget"],"prices":[{"kind":"monthly","amount_cents":4900,"currency":"eur"}]}' | json id) \
  || setup_failed "product"
api PATCH "/products/$PRODUCT" '{"status":"published"}' >/dev/null || setup_failed "publishing"
api POST /entitlements "{\"customer_id\":$CUSTOMER,\"product_id\":$PRODUCT}" >/dev/null || setup_failed "entitlement"
# pull_credential VAR NAME: VAR_USER, VAR_SECRET, VAR_ID.
pull_credential() {
  local out
  out=$(api POST "/customers/$CUSTOMER/credentials" "{\"name\":\"$2\"}") || setup_failed "credential $2"
  printf -v "${1}_USER" '%s' "$(json username <<<"$out")"
  printf -v "${1}_SECRET" '%s' "$(json secret <<<"$out")"
  printf -v "${1}_ID" '%s' "$(json credential.id <<<"$out")"
}
pull_credential C1 "fleet-revoked"
pull_credential C2 "fleet-load"
pull_credential C3 "fleet-events"
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' | "$BIN" user create --email ci@example.com --role admin >/dev/null \
  || setup_failed "admin account"
out=$("$BIN" credential create --email ci@example.com --name ci --push) || setup_failed "push credential"
PUSH_USER=$(awk '$1 == "username:" {print $2}' <<<"$out")
PUSH_SECRET=$(awk '$1 == "secret:" {print $2}' <<<"$out")
build_demo_image "$WORK/image"
skopeo_isolated "$WORK/skopeo" copy --quiet --dest-tls-verify=false --dest-creds "$PUSH_USER:$PUSH_SECRET" \
  "oci:$WORK/image/oci:1.0" "docker://$REG_HOST/acme/widget:1.0" || setup_failed "pushing acme/widget:1.0"
echo "==> pushed acme/widget:1.0 through the registry (setup $(since "$T0") s)"

# ---------------------------------------------------------------- helpers
# pull USER:SECRET: a full pull of acme/widget:1.0 through the registry,
# whose token requests go through HAProxy.
PULLS=0
pull() {
  PULLS=$((PULLS + 1))
  local dir="$WORK/pulled-$PULLS" rc=0
  skopeo_isolated "$WORK/skopeo" copy --quiet --src-tls-verify=false --src-creds "$1" \
    "docker://$REG_HOST/acme/widget:1.0" "dir:$dir" >"$WORK/pull.out" 2>&1 || rc=$?
  rm -rf "$dir"
  return "$rc"
}
# token BASE USER:SECRET: a pull token request sent directly to one replica;
# TOKEN_STATUS and TOKEN_BODY say how it was answered.
token() {
  TOKEN_BODY=$(curl -sS --max-time 5 -u "$2" -w '\n%{http_code}' \
    "$1/registry/token?service=portcullis-registry&scope=repository:acme/widget:pull" 2>/dev/null) || { TOKEN_STATUS=000; return 0; }
  TOKEN_STATUS=${TOKEN_BODY##*$'\n'}
  TOKEN_BODY=${TOKEN_BODY%$'\n'*}
}
# token_kid < TOKEN_JSON: the libtrust id of the key whose certificate the
# token carries in its x5c header (tokens carry no kid).
token_kid() { python3 -c 'import base64, hashlib, json, sys
h = json.load(sys.stdin)["token"].split(".")[0]
der = base64.b64decode(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["x5c"][0])
spki_header = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
at = der.index(spki_header)
b32 = base64.b32encode(hashlib.sha256(der[at:at + len(spki_header) + 65]).digest()[:30]).decode().rstrip("=")
print(":".join(b32[i:i + 4] for i in range(0, len(b32), 4)))'; }
# metric BASE LINE-START: a value from one replica's /metrics.
metric() {
  curl -sS --max-time 5 -H "Authorization: Bearer $PORTCULLIS_METRICS_TOKEN" "$1/metrics" 2>/dev/null \
    | awk -v k="$2" '$1 == k {print $2; found = 1} END {if (!found) print 0}'
}
GRANTED='portcullis_token_requests_total{outcome="granted"}'
SEALS='portcullis_job_runs_total{job="audit.seal",outcome="ok"}'
CLIENT=(python3 scripts/fleet_client.py)

# ---------------------------------------------------------------- checks
pulls_through_the_balancer() {
  local a0 b0 a b i
  a0=$(metric "$A_URL" "$GRANTED"); b0=$(metric "$B_URL" "$GRANTED")
  for i in 1 2 3 4; do
    pull "$C1_USER:$C1_SECRET" || fail "pull $i through the balancer failed: $(tail -n 2 "$WORK/pull.out")" || return 1
    a=$(metric "$A_URL" "$GRANTED"); b=$(metric "$B_URL" "$GRANTED")
    [ $((a - a0)) -gt 0 ] && [ $((b - b0)) -gt 0 ] && break
  done
  [ $((a - a0)) -gt 0 ] && [ $((b - b0)) -gt 0 ] \
    || fail "after $i pulls, tokens granted by A: $((a - a0)), by B: $((b - b0))" || return 1
  DETAIL="$i pulls; tokens granted by A $((a - a0)), by B $((b - b0))"
}

revoke_on_a_denies_on_b() {
  local i denied=0
  token "$B_URL" "$C1_USER:$C1_SECRET"
  [ "$TOKEN_STATUS" = 200 ] || fail "before the revoke B answered $TOKEN_STATUS" || return 1
  api DELETE "/credentials/$C1_ID" "" "$A_URL" >/dev/null || fail "revoking on A failed" || return 1
  token "$A_URL" "$C1_USER:$C1_SECRET"
  [ "$TOKEN_STATUS" = 401 ] || fail "A itself answered $TOKEN_STATUS right after the revoke" || return 1
  sleep 0.5 # the cache bound (250 ms) and a margin
  for i in 1 2 3; do
    token "$B_URL" "$C1_USER:$C1_SECRET"
    [ "$TOKEN_STATUS" = 401 ] && denied=$((denied + 1))
  done
  [ "$denied" = 3 ] || fail "0.5 s after the revoke B still answered $TOKEN_STATUS ($denied of 3 refused)" || return 1
  if pull "$C1_USER:$C1_SECRET"; then fail "a pull through the balancer still worked"; return 1; fi
  grep -q 'revoked' "$WORK/pull.out" || fail "the pull failed without saying revoked: $(tail -n 1 "$WORK/pull.out")" || return 1
  DETAIL="A 401 at once, B 401 ×3 after 0.5 s, pull refused"
}

login_limit_across_replicas() {
  local sec i url code headers statuses=""
  # One fixed window (a wall-clock minute) for the whole sequence.
  sec=$(date +%S); sec=${sec#0}
  [ "$sec" -lt 52 ] || sleep $((61 - sec))
  for i in $(seq 1 $((LOGIN_LIMIT + 1))); do
    url=$([ $((i % 2)) = 1 ] && echo "$A_URL" || echo "$B_URL")
    headers=$(curl -sS --max-time 10 -o /dev/null -D - -X POST -H "Origin: $url" \
      --data-urlencode "email=buyer@example.com" --data-urlencode "password=not-the-password-$i" "$url/fn/login") \
      || fail "log-in $i: no answer" || return 1
    code=$(awk 'NR == 1 {print $2}' <<<"$headers")
    statuses+="${statuses:+ }$code"
    if [ "$i" -le "$LOGIN_LIMIT" ]; then
      [ "$code" != 429 ] && [ "${code:0:1}" = 4 ] || fail "log-in $i of $LOGIN_LIMIT allowed answered $code ($statuses)" || return 1
    else
      [ "$code" = 429 ] || fail "log-in $i (past the limit of $LOGIN_LIMIT) answered $code ($statuses)" || return 1
      grep -qi '^retry-after: [0-9]' <<<"$headers" || fail "the 429 has no Retry-After" || return 1
    fi
  done
  DETAIL="limit $LOGIN_LIMIT, alternating A/B: $statuses, with Retry-After"
}

key_rotation() {
  local kid old t0 ka kb
  token "$A_URL" "$C2_USER:$C2_SECRET"
  old=$(token_kid <<<"$TOKEN_BODY") || fail "no token from A ($TOKEN_STATUS)" || return 1
  kid=$("$BIN" registry key add | awk '$1 == "added" {print $2}')
  [ -n "$kid" ] || fail "registry key add printed no kid" || return 1
  write_registry_config || fail "rewriting the registry config failed" || return 1
  stop_pid "$REG_PID"; REG_PID=""
  start_registry || fail "the registry did not restart" || return 1
  "$BIN" registry key activate "$kid" >/dev/null || fail "registry key activate failed" || return 1
  t0=$(now)
  for _ in $(seq 1 40); do
    token "$A_URL" "$C2_USER:$C2_SECRET"; ka=$(token_kid <<<"$TOKEN_BODY" 2>/dev/null)
    token "$B_URL" "$C2_USER:$C2_SECRET"; kb=$(token_kid <<<"$TOKEN_BODY" 2>/dev/null)
    [ "$ka" = "$kid" ] && [ "$kb" = "$kid" ] && break
    sleep 0.2
  done
  local took; took=$(since "$t0")
  [ "$ka" = "$kid" ] && [ "$kb" = "$kid" ] || fail "after ${took} s A signs with ${ka:-?}, B with ${kb:-?}, not $kid" || return 1
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 3.5 else 1)' "$took" \
    || fail "A and B took ${took} s to sign with $kid" || return 1
  pull "$C2_USER:$C2_SECRET" || fail "a pull through the balancer failed after the rotation: $(tail -n 2 "$WORK/pull.out")" || return 1
  DETAIL="${old:0:14}… → ${kid:0:14}…: A and B within ${took} s; pull ok"
}

kill_a_under_load() {
  local out="$WORK/load-kill.jsonl" seals0 holder t_kill verdict max_id sealed waited
  seals0=$(metric "$B_URL" "$SEALS")
  "${CLIENT[@]}" --out "$out" --creds "$C2_USER:$C2_SECRET" --seconds 5 --max 20000 --threads 2 \
    --target "a=$A_URL" --target "b=$B_URL" &
  CLIENT_PID=$!
  sleep 1.5
  holder=$(sql "SELECT COALESCE(lease_holder, '') || ' ' || COALESCE(lease_until > now(), false) FROM jobs WHERE name = 'audit.seal'")
  kill -9 "$A_PID"
  t_kill=$(now)
  wait "$A_PID" 2>/dev/null || true
  A_PID=""
  wait "$CLIENT_PID" || fail "the load client failed" || return 1
  CLIENT_PID=""
  # Every token received, by replica and before/after the kill; the jtis to look up.
  verdict=$(python3 - "$out" "$t_kill" "$WORK/jtis" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t_kill = float(sys.argv[2])
tokens = [r for r in rows if r.get("jti")]
open(sys.argv[3], "w").write("".join(r["jti"] + "\n" for r in tokens))
a_before = sum(1 for r in tokens if r["target"] == "a" and r["t"] < t_kill)
b_after = sum(1 for r in tokens if r["target"] == "b" and r["t"] > t_kill + 0.2)
hung = sum(1 for r in rows if r["dt"] > 6)
other = sorted({str(r.get("status") or r.get("error")) for r in rows if r.get("status") != 200})
print(len(tokens), a_before, b_after, hung, ",".join(other) or "-")
PY
  ) || fail "reading the client's records failed" || return 1
  read -r n a_before b_after hung other <<<"$verdict"
  [ "$a_before" -gt 0 ] || fail "A granted nothing before the kill" || return 1
  [ "$b_after" -gt 0 ] || fail "B granted nothing after the kill (answers other than 200: $other)" || return 1
  # Every token a client received has its registry.token row, outcome success.
  sql "SELECT details->>'jti' FROM audit_events WHERE action = 'registry.token' AND outcome = 'success' AND details ? 'jti'" \
    >"$WORK/recorded" || fail "reading the audit rows failed" || return 1
  local missing
  missing=$(sort -u "$WORK/recorded" | comm -23 <(sort -u "$WORK/jtis") - | wc -l)
  [ "$missing" = 0 ] || fail "$missing of $n tokens received have no registry.token audit row" || return 1
  # B seals what was written (A's lease, if A died holding it, expires after 30 s).
  max_id=$(sql "SELECT COALESCE(MAX(id), 0) FROM audit_events")
  waited=$(now)
  for _ in $(seq 1 400); do
    sealed=$(sql "SELECT sealed_id FROM audit_chain") || sealed=0
    [ "$sealed" -ge "$max_id" ] && break
    sleep 0.1
  done
  [ "$sealed" -ge "$max_id" ] || fail "the chain is sealed up to $sealed, not $max_id, $(since "$waited") s after the load" || return 1
  "$BIN" audit verify >"$WORK/verify.out" 2>&1 || fail "audit verify: $(tail -n 1 "$WORK/verify.out")" || return 1
  # The jobs: B ran audit.seal after the kill (its own counter), the row
  # finished after the kill and A holds no lease any more.
  local seals1 job
  seals1=$(metric "$B_URL" "$SEALS")
  job=$(sql "SELECT (last_finished_at > to_timestamp($t_kill)) || ' ' || COALESCE(lease_holder NOT LIKE 'fleet-a-%', true) FROM jobs WHERE name = 'audit.seal'")
  [ $((seals1 - seals0)) -gt 0 ] && [ "$job" = "true true" ] \
    || fail "audit.seal after the kill: B ran it $((seals1 - seals0)) times; finished after the kill, lease not A's: $job" || return 1
  local lease_note="A held no seal lease at the kill"
  case "$holder" in fleet-a-*" true") lease_note="A died holding the seal lease; B took over after it" ;; esac
  DETAIL="$n tokens (A $a_before before the kill, B $b_after after it), all recorded; other answers: $other; no hang: $([ "$hung" = 0 ] && echo yes || echo "$hung over 6 s"); sealed to $sealed in $(since "$waited") s, verify ok; B ran audit.seal $((seals1 - seals0))× ($lease_note)"
}

database_restart_under_load() {
  local out="$WORK/load-pg.jsonl" stop="$WORK/stop-pg" t_down t_up verdict
  "${CLIENT[@]}" --out "$out" --creds "$C2_USER:$C2_SECRET" --seconds 25 --max 20000 --threads 2 \
    --target "b=$B_URL" --readyz "b=$B_URL" --stop-file "$stop" &
  CLIENT_PID=$!
  sleep 1
  t_down=$(now)
  pg_restart 6 || fail "pg_restart failed" || return 1
  t_up=$(now)
  # Up to 10 s for a grant and a 200 from /readyz after the restart.
  for _ in $(seq 1 100); do
    python3 - "$out" "$t_up" <<'PY' && break
import json, sys
t_up = float(sys.argv[2])
rows = [json.loads(l) for l in open(sys.argv[1]) if l.endswith("\n")]
ok = lambda probe: any(r["t"] > t_up and r.get("status") == 200 and ("probe" in r) == probe for r in rows)
sys.exit(0 if ok(False) and ok(True) else 1)
PY
    sleep 0.1
  done
  sleep 0.5
  touch "$stop"
  wait "$CLIENT_PID" || fail "the load client failed" || return 1
  CLIENT_PID=""
  verdict=$(python3 - "$out" "$t_down" "$t_up" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t_down, t_up = float(sys.argv[2]), float(sys.argv[3])
tokens = [r for r in rows if "probe" not in r]
probes = [r for r in rows if "probe" in r]
down = [r for r in tokens if t_down <= r["t"] <= t_up]
problems = []
# The portal's bound: a decision's audit commit waits at most 5 s, /readyz 2 s.
hung = [r for r in tokens + probes if r.get("status") is None or r["dt"] > 6]
if hung:
    problems.append(f"{len(hung)} requests unanswered or over 6 s (e.g. {hung[0].get('error') or hung[0]['dt']})")
unclean = [r for r in tokens if r.get("status") not in (200, 500, 503) or (r.get("status") != 200 and not r.get("json"))]
if unclean:
    problems.append(f"{len(unclean)} answers neither a token nor a 500/503 JSON error (e.g. {unclean[0].get('status')})")
refused = sum(1 for r in down if r.get("status") in (500, 503))
if not refused:
    problems.append("no token request was refused while PostgreSQL was down")
if not any(t_down <= r["t"] <= t_up and r.get("status") == 503 for r in probes):
    problems.append("/readyz never answered 503 while PostgreSQL was down")
after = sorted(r["t"] + r["dt"] for r in tokens if r["t"] > t_up and r.get("status") == 200)
ready = sorted(r["t"] + r["dt"] for r in probes if r["t"] > t_up and r.get("status") == 200)
if not after:
    problems.append("B granted nothing after PostgreSQL was back")
elif after[0] - t_up > 10:
    problems.append(f"B granted again only {after[0] - t_up:.1f} s after PostgreSQL was back")
if not ready:
    problems.append("/readyz never answered 200 after PostgreSQL was back")
slowest = max((r["dt"] for r in down), default=0)
if problems:
    print("FAIL " + "; ".join(problems))
else:
    print(f"OK {len(tokens)} token requests, {refused} refused cleanly during the outage (slowest answer {slowest:.2f} s); "
          f"/readyz 503 during, 200 {ready[0] - t_up:.1f} s after; grants again {after[0] - t_up:.1f} s after")
PY
  ) || fail "reading the client's records failed" || return 1
  case "$verdict" in
    OK*) ;;
    *) fail "${verdict#FAIL }"; return 1 ;;
  esac
  # Every token received, before, during and after the outage, has its row.
  python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("jti"): print(r["jti"])' "$out" | sort -u >"$WORK/jtis-pg" || fail "reading the jtis failed" || return 1
  sql "SELECT details->>'jti' FROM audit_events WHERE action = 'registry.token' AND outcome = 'success' AND details ? 'jti'" \
    | sort -u >"$WORK/recorded-pg" || fail "reading the audit rows failed" || return 1
  local missing
  missing=$(comm -23 "$WORK/jtis-pg" "$WORK/recorded-pg" | wc -l)
  [ "$missing" = 0 ] || fail "$missing of $(wc -l <"$WORK/jtis-pg") tokens received have no registry.token audit row" || return 1
  DETAIL="down 6 s: ${verdict#OK }; every token received recorded"
}

events_while_the_portal_is_down() {
  local token_json token_value t_pull failures0 failures rows events
  token "$B_URL" "$C3_USER:$C3_SECRET"
  [ "$TOKEN_STATUS" = 200 ] || fail "no token from B ($TOKEN_STATUS)" || return 1
  token_value=$(json token <<<"$TOKEN_BODY")
  # A is dead (check 5); B stops cleanly: no replica answers HAProxy.
  stop_pid "$B_PID"; B_PID=""
  failures0=$(grep -c 'error writing events' "$WORK/registry.log" || true)
  PULLS=$((PULLS + 1))
  skopeo_isolated "$WORK/skopeo" copy --quiet --src-tls-verify=false --src-registry-token "$token_value" \
    "docker://$REG_HOST/acme/widget:1.0" "dir:$WORK/pulled-$PULLS" >"$WORK/pull.out" 2>&1 \
    || fail "the pull with the token failed: $(tail -n 2 "$WORK/pull.out")" || return 1
  rm -rf "$WORK/pulled-$PULLS"
  sleep 2 # the registry tries to deliver and fails meanwhile
  failures=$(grep -c 'error writing events' "$WORK/registry.log" || true)
  [ $((failures - failures0)) -gt 0 ] || fail "the registry logged no failed delivery while the portal was down" || return 1
  [ "$(sql "SELECT count(*) FROM registry_events WHERE actor = '$C3_USER'")" = 0 ] \
    || fail "an event was recorded while no replica ran" || return 1
  start_replica a
  wait_http "$A_URL/readyz" 200 || fail "replica A did not start again" || return 1
  local t_up; t_up=$(now)
  for _ in $(seq 1 100); do
    rows=$(sql "SELECT count(*) FROM audit_events WHERE action = 'registry.pull' AND details->>'credential' = '$C3_USER'")
    [ "$rows" -ge 1 ] && break
    sleep 0.1
  done
  [ "$rows" -ge 1 ] || fail "no registry.pull row $(since "$t_up") s after a replica was back" || return 1
  local arrived; arrived=$(since "$t_up")
  # A delivery the registry repeats (its answer lost) changes nothing: send
  # the recorded event again, as the registry would, directly to A.
  local event_id secret
  event_id=$(sql "SELECT event_id FROM registry_events WHERE actor = '$C3_USER' AND action = 'pull' ORDER BY received_at LIMIT 1")
  secret=$(sed -n 's/^ *Authorization: \["Bearer \(.*\)"\]$/\1/p' "$WORK/registry/config.yml")
  local envelope
  envelope=$(sql "SELECT json_build_object('events', json_build_array(json_build_object(
      'id', event_id, 'timestamp', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
      'action', action, 'target', json_build_object('mediaType', media_type, 'digest', digest, 'repository', repository, 'tag', tag),
      'request', json_build_object('addr', ip || ':1', 'method', method, 'useragent', user_agent),
      'actor', json_build_object('name', actor))))
    FROM registry_events WHERE event_id = '$event_id'")
  local code
  code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $secret" \
    -H 'Content-Type: application/vnd.docker.distribution.events.v1+json' --data "$envelope" "$A_URL/registry/events") || code=000
  [ "$code" = 200 ] || fail "the replayed delivery answered $code" || return 1
  sleep 1.5 # and whatever the registry still retries
  rows=$(sql "SELECT count(*) FROM audit_events WHERE action = 'registry.pull' AND details->>'credential' = '$C3_USER'")
  events=$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM registry_events WHERE actor = '$C3_USER' AND action = 'pull'")
  [ "$rows" = 1 ] && [ "$events" = "1 1" ] \
    || fail "registry.pull rows: $rows, pull events (rows, distinct ids): $events; expected exactly one" || return 1
  DETAIL="$((failures - failures0)) failed deliveries while down; recorded once $arrived s after A was back; a replay added nothing"
}

echo "==> checks"
check "pulls through the balancer reach both replicas" pulls_through_the_balancer
check "a revoke on A denies on B within the cache bound" revoke_on_a_denies_on_b
check "log-in limits hold across both replicas" login_limit_across_replicas
check "a key rotated on one replica is used by both" key_rotation
check "kill -9 of a replica under token load loses no audit row" kill_a_under_load
check "PostgreSQL restarted under load: clean failures, recovery" database_restart_under_load
check "events sent while the portal is down are retried and recorded once" events_while_the_portal_is_down
