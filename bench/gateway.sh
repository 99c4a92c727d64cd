#!/usr/bin/env bash
# Benchmark (not a test) of the pull gateway (issue 18, part 4). Prints
# figures and ratios, whatever they are; the aim is a pull through the
# gateway ≤ 1.2 × the same pull straight from the registry, and the portal's
# RSS growth during the pulls < 100 MB over its idle RSS.
#   1. builds an image offline: LAYERS (4) gzip layers of LAYER_MB (50 MiB)
#      random bytes each (≈ 200 MiB, incompressible), an OCI layout written
#      by hand (tar, gzip -1, sha256sum, the JSON by python3);
#   2. runs the release `portcullis serve` (SQLite) with the gateway on
#      (`PORTCULLIS_GATEWAY_UPSTREAM`, `/v2/` on the portal's address, or its
#      own listener with BENCH_GATEWAY_LISTEN=own) and Debian's
#      `docker-registry` on the portal's token service (`portcullis registry
#      config`); the gateway reaches the registry with a push credential
#      (`portcullis credential create --push`);
#   3. through the REST API (an admin key from `portcullis apikey create`):
#      a published subscription product holding bench/image (not
#      gateway-only, so the registry also grants the customer directly), a
#      customer, a manual entitlement, a pull credential; pushes the image
#      with skopeo;
#   4. pulls it with skopeo (`docker://… → dir:`, the whole image: manifest,
#      config, 4 layers) with the customer's credential, straight from the
#      registry ("direct") and through the gateway: a warm-up (1, then
#      CONCURRENCY at once) straight from the registry, then the same through
#      the gateway; then, alternating, ROUNDS single pulls per side and
#      CONCURRENT_ROUNDS rounds of CONCURRENCY (8) pulls at once per side
#      (wall time of the round); medians, MB/s (pulled blob bytes / wall
#      time), the ratios;
#   5. samples the portal's VmRSS (/proc/PID/status) every 100 ms: idle
#      (after the set-up, before any pull), peak during the direct warm-up
#      (the token service alone), peak once the gateway serves (growth over
#      idle), after the pulls; and VmHWM (the process's peak).
# Loopback only; everything in a temp dir; ends only the processes it
# started (by PID, on exit). Each skopeo run is bounded (--command-timeout
# 120s); no new round starts after BENCH_MAX_SECS (default 540).
# Usage: bash bench/gateway.sh [ROUNDS]   (single pulls per side, default 5, at most 20)
#   BENCH_CONCURRENT_ROUNDS (default 5, at most 10), BENCH_CONCURRENCY (default 8, at most 16),
#   BENCH_LAYERS (default 4, at most 8), BENCH_LAYER_MB (default 50, at most 256),
#   BENCH_GATEWAY_LISTEN=portal|own (default portal), BENCH_GATEWAY_CONCURRENCY
#   (PORTCULLIS_GATEWAY_CONCURRENCY, default the portal's: 64), BENCH_MAX_SECS (default 540),
#   BENCH_BUILD=0 (use target/release/portcullis as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
clamp() { local v=$1 max=$2; [ "$v" -ge 1 ] 2>/dev/null || v=1; [ "$v" -le "$max" ] || v=$max; echo "$v"; }
ROUNDS=$(clamp "${1:-5}" 20)
CONC_ROUNDS=$(clamp "${BENCH_CONCURRENT_ROUNDS:-5}" 10)
CONC=$(clamp "${BENCH_CONCURRENCY:-8}" 16)
LAYERS=$(clamp "${BENCH_LAYERS:-4}" 8)
LAYER_MB=$(clamp "${BENCH_LAYER_MB:-50}" 256)
LISTEN_MODE=${BENCH_GATEWAY_LISTEN:-portal}
MAX_SECS=$(clamp "${BENCH_MAX_SECS:-540}" 3600)
REPO=bench/image; TAG=1.0

for tool in docker-registry skopeo curl python3 gzip tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run bash scripts/install.sh" >&2; exit 2; }
done
source scripts/registry.sh

# The release portal, built as bench/registry.sh builds it (the gateway and
# the token service need no wasm): the release environment of
# scripts/build.sh, so its build is reused.
source scripts/leptos-env.sh --release
if [ "${BENCH_BUILD:-1}" != 0 ]; then
  echo "==> cargo build --release (portcullis)"
  cargo build --release --quiet -p server --bin portcullis
fi
BIN=$PWD/target/release/portcullis

WORK=$(mktemp -d /tmp/portcullis-bench-gateway.XXXXXX)
PIDS=(); LIVE=() # long-lived children; the pulls of the round under way
cleanup() {
  local p
  for p in "${LIVE[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${LIVE[@]}" "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
START=$(date +%s)
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
out_of_time() { [ $(( $(date +%s) - START )) -ge "$MAX_SECS" ]; }

# ---- 1. the image, offline ---------------------------------------------------
echo "==> building a $LAYERS-layer image of $LAYERS × $LAYER_MB MiB random bytes (OCI layout)"
IMG=$WORK/image; mkdir -p "$IMG/oci/blobs/sha256" "$IMG/src"
echo '{"imageLayoutVersion":"1.0.0"}' >"$IMG/oci/oci-layout"
: >"$IMG/layers.txt"
for i in $(seq 1 "$LAYERS"); do
  mkdir -p "$IMG/src/$i"
  head -c $((LAYER_MB * 1048576)) /dev/urandom >"$IMG/src/$i/layer-$i.bin"
  tar -C "$IMG/src/$i" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$IMG/layer.tar" "layer-$i.bin"
  diff_id=$(sha256sum "$IMG/layer.tar" | cut -d' ' -f1)
  gzip -1 -n -c "$IMG/layer.tar" >"$IMG/layer.tar.gz"
  digest=$(sha256sum "$IMG/layer.tar.gz" | cut -d' ' -f1)
  echo "$digest $(stat -c %s "$IMG/layer.tar.gz") $diff_id" >>"$IMG/layers.txt"
  mv "$IMG/layer.tar.gz" "$IMG/oci/blobs/sha256/$digest"
  rm -rf "$IMG/layer.tar" "$IMG/src/$i"
done
CONFIG_BYTES=$(python3 - "$IMG/oci" "$IMG/layers.txt" "$TAG" <<'EOF'
import hashlib, json, os, sys
oci, listing, tag = sys.argv[1:]
layers = [line.split() for line in open(listing)]
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(oci, "blobs", "sha256", d), "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
config = json.dumps({
    "architecture": "amd64", "os": "linux", "created": "2026-12-02T00:00:00Z",
    "config": {"Cmd": ["/bin/true"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + l[2] for l in layers]},
    "history": [{"created": "2026-12-02T00:00:00Z", "created_by": "bench/gateway.sh"} for _ in layers],
}, separators=(",", ":")).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + l[0], "size": int(l[1])} for l in layers],
}, separators=(",", ":")).encode()
m = blob(manifest)
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **m,
                        "annotations": {"org.opencontainers.image.ref.name": tag}}]}
json.dump(index, open(os.path.join(oci, "index.json"), "w"))
print(len(config))
EOF
)
LAYER_BYTES=$(awk '{s += $2} END {print s}' "$IMG/layers.txt")
IMAGE_BYTES=$((LAYER_BYTES + CONFIG_BYTES)) # what one pull fetches as blobs
echo "    $LAYERS layers, $LAYER_BYTES bytes (+ config $CONFIG_BYTES): $(awk -v b="$IMAGE_BYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB per pull"

# ---- 2. the portal (with the gateway) and the registry -------------------------
PORT=$(free_port); RPORT=$(free_port)
while [ "$RPORT" = "$PORT" ]; do RPORT=$(free_port); done
BASE=http://127.0.0.1:$PORT
export PORTCULLIS_DATABASE_URL="sqlite://$WORK/portal.db"
export PORTCULLIS_SESSION_SECRET=bench-secret-bench-secret-bench-secret-0123
export PORTCULLIS_REGISTRY_KEY_DIR=$WORK/keys
pc() { PORTCULLIS_LOG=error "$BIN" "$@"; }
pc migrate >/dev/null
printf '%s\n' 'Qz7-vendor-staff-passphrase-58231' | pc user create --email admin@bench.test --role admin >/dev/null
pc credential create --push --email admin@bench.test --name bench-ci >"$WORK/push.txt"
PUSH_USER=$(awk '/^username:/ {print $2}' "$WORK/push.txt"); PUSH_SECRET=$(awk '/^secret:/ {print $2}' "$WORK/push.txt")
API_KEY=$(pc apikey create --name bench --role admin | awk -F': ' '/^secret/ {print $2}')
[ -n "$PUSH_USER" ] && [ -n "$PUSH_SECRET" ] && [ -n "$API_KEY" ] || { echo "set-up through the CLI failed" >&2; cat "$WORK/push.txt" >&2; exit 1; }

GW_ENV=(PORTCULLIS_GATEWAY_UPSTREAM="http://127.0.0.1:$RPORT" PORTCULLIS_GATEWAY_UPSTREAM_USER="$PUSH_USER"
  PORTCULLIS_GATEWAY_UPSTREAM_PASSWORD="$PUSH_SECRET")
GW_HOST=127.0.0.1:$PORT
if [ "$LISTEN_MODE" = own ]; then
  GPORT=$(free_port); GW_HOST=127.0.0.1:$GPORT; GW_ENV+=(PORTCULLIS_GATEWAY_LISTEN="$GW_HOST")
fi
[ -n "${BENCH_GATEWAY_CONCURRENCY:-}" ] && GW_ENV+=(PORTCULLIS_GATEWAY_CONCURRENCY="$BENCH_GATEWAY_CONCURRENCY")
env "${GW_ENV[@]}" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" PORTCULLIS_LOG=warn "$BIN" serve >>"$WORK/portal.log" 2>&1 &
PORTAL_PID=$!; PIDS+=("$PORTAL_PID")
wait_http "$BASE/readyz" 200 || { cat "$WORK/portal.log"; exit 1; }
wait_http "http://$GW_HOST/v2/" 401 || { echo "the gateway does not answer on $GW_HOST/v2/" >&2; cat "$WORK/portal.log"; exit 1; }

pc registry config --out "$WORK/registry" --listen "127.0.0.1:$RPORT" --portal-url "$BASE" >/dev/null
sed -i 's/^  level: info/  level: error/' "$WORK/registry/config.yml"
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$RPORT/v2/" 401 || { cat "$WORK/registry.log"; exit 1; }

# The RSS sampler: "phase rss_kB" every 100 ms while the portal runs.
echo setup >"$WORK/phase"
( while [ -r "/proc/$PORTAL_PID/status" ]; do
    rss=""; while read -r k v _; do [ "$k" = VmRSS: ] && rss=$v; done <"/proc/$PORTAL_PID/status" 2>/dev/null || true
    read -r phase <"$WORK/phase" || true
    [ -n "$rss" ] && echo "$phase $rss"
    sleep 0.1
  done ) >"$WORK/rss.txt" 2>/dev/null &
PIDS+=($!)
phase() { echo "$1" >"$WORK/phase"; }

# ---- 3. catalogue, customer, credential (REST), and the push ---------------------
api() { # METHOD PATH [JSON] → the answer's body; fails on a non-2xx
  local out code
  out=$(curl -sS -X "$1" -H "Authorization: Bearer $API_KEY" -H 'content-type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}' "$BASE/api/v1$2")
  code=${out##*$'\n'}
  [ "${code:0:1}" = 2 ] || { echo "$1 $2 answered $code: ${out%$'\n'*}" >&2; return 1; }
  printf '%s' "${out%$'\n'*}"
}
jget() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v = v[k]
print(v)' "$@"; }
PRODUCT=$(api POST /products "{\"name\":\"Bench image\",\"slug\":\"bench-image\",\"contact_sales\":true,\"repositories\":[\"$REPO\"]}" | jget id)
api PATCH "/products/$PRODUCT" '{"status":"published"}' >/dev/null
CUSTOMER=$(api POST /customers '{"email":"buyer@bench.test","name":"Bench buyer","password":"Kx4-customer-passphrase-90417"}' | jget id)
api POST /entitlements "{\"customer_id\":$CUSTOMER,\"product_id\":$PRODUCT}" >/dev/null
api POST "/customers/$CUSTOMER/credentials" '{"name":"bench puller"}' >"$WORK/pull.json"
PULL_CREDS="$(jget username <"$WORK/pull.json"):$(jget secret <"$WORK/pull.json")"

echo "==> pushing $REPO:$TAG to the registry (push credential)"
skopeo_isolated "$WORK/skopeo-push" copy --quiet --dest-tls-verify=false --dest-creds "$PUSH_USER:$PUSH_SECRET" \
  "oci:$IMG/oci:$TAG" "docker://127.0.0.1:$RPORT/$REPO:$TAG"
# skopeo as scripts/registry.sh's skopeo_isolated runs it (its own home,
# temp files, auth file and trust policy; as root in a user namespace), but
# started here in the background so that $! is skopeo's own PID.
SKOPEO=(skopeo)
if [ "$(id -u)" -eq 0 ] && unshare --user --map-user=1000 --map-group=1000 true 2>/dev/null; then
  SKOPEO=(unshare --user --map-user=1000 --map-group=1000 skopeo)
fi
LAYER_FILES=$(awk '{print $1}' "$IMG/layers.txt")
# The portal's CPU time so far (user + system, clock ticks).
portal_cpu() { awk '{print $14 + $15}' "/proc/$PORTAL_PID/stat"; }
TICKS=$(getconf CLK_TCK)
# The bytes the portal has written so far (sockets included: /proc/PID/io wchar).
portal_written() { awk '$1 == "wchar:" {print $2}' "/proc/$PORTAL_PID/io"; }
# N pulls at once on SIDE (direct|gateway); sets ROUND to the round's wall
# time in ms, or "fail K" when K pulls did not bring the whole image.
round() {
  local side=$1 n=$2 host=127.0.0.1:$RPORT i h t0 bad=0 f
  [ "$side" = gateway ] && host=$GW_HOST
  for i in $(seq 1 "$n"); do
    h=$WORK/skopeo-$i; rm -rf "$WORK/pulled/$i"; mkdir -p "$h/home" "$h/tmp" "$h/config" "$WORK/pulled/$i"
    [ -f "$h/auth.json" ] || echo '{}' >"$h/auth.json"
    [ -f "$h/policy.json" ] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$h/policy.json"
  done
  local c0 w0; c0=$(portal_cpu); w0=$(portal_written)
  t0=$(ms_now)
  for i in $(seq 1 "$n"); do
    h=$WORK/skopeo-$i
    HOME="$h/home" TMPDIR="$h/tmp" XDG_CONFIG_HOME="$h/config" XDG_DATA_HOME="$h/home/.local/share" \
      XDG_RUNTIME_DIR="$h/tmp" REGISTRY_AUTH_FILE="$h/auth.json" \
      "${SKOPEO[@]}" --policy "$h/policy.json" --tmpdir "$h/tmp" --command-timeout 120s \
      copy --quiet --src-tls-verify=false --src-creds "$PULL_CREDS" \
      "docker://$host/$REPO:$TAG" "dir:$WORK/pulled/$i" 2>>"$WORK/skopeo-$side.err" &
    LIVE+=($!)
  done
  local status=()
  for i in "${LIVE[@]}"; do if wait "$i"; then status+=(0); else status+=(1); fi; done
  local took=$(( $(ms_now) - t0 ))
  ROUND_CPU=$(( $(portal_cpu) - c0 )); ROUND_WRITTEN=$(( $(portal_written) - w0 ))
  LIVE=()
  for i in $(seq 1 "$n"); do
    if [ "${status[$((i - 1))]}" -ne 0 ]; then
      bad=$((bad + 1))
    else
      for f in $LAYER_FILES; do
        [ "$(stat -c %s "$WORK/pulled/$i/$f" 2>/dev/null || echo 0)" -gt 0 ] || { bad=$((bad + 1)); echo "pull $i lacks layer $f" >>"$WORK/skopeo-$side.err"; break; }
      done
    fi
    rm -rf "$WORK/pulled/$i"
  done
  if [ "$bad" -eq 0 ]; then ROUND=$took; else ROUND="fail $bad"; fi
}

# ---- 4./5. the pulls, with the RSS sampled ------------------------------------------
phase idle; sleep 3
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
: >"$WORK/direct-1.ms"; : >"$WORK/gateway-1.ms"; : >"$WORK/direct-$CONC.ms"; : >"$WORK/gateway-$CONC.ms"
FAILS=0
record() { # SIDE N RESULT
  case $3 in
    fail*) FAILS=$((FAILS + ${3#fail })); echo "    $1 ×$2: FAILED (${3#fail } pulls)" ;;
    *) echo "$3" >>"$WORK/$1-$2.ms"; echo "$ROUND_CPU $ROUND_WRITTEN" >>"$WORK/$1-$2.cpu"; echo "    $1 ×$2: $3 ms ($(awk -v b="$IMAGE_BYTES" -v n="$2" -v t="$3" 'BEGIN {printf "%.0f", b * n / t / 1000}') MB/s)" ;;
  esac
}
# Warm-up, direct first: the portal's RSS after pulls that used only its
# token service, before the gateway ever served a byte.
echo "==> warm-up: 1, then $CONC at once, straight from the registry; then the same through the gateway"
warm() { # SIDE: 1, then CONC at once; failures counted
  local w1
  round "$1" 1; w1=$ROUND; [[ $w1 == fail* ]] && FAILS=$((FAILS + ${w1#fail }))
  round "$1" "$CONC"; [[ $ROUND == fail* ]] && FAILS=$((FAILS + ${ROUND#fail }))
  echo "    $1: $w1 ms, ×$CONC: $ROUND ms"
}
phase direct-only; warm direct
phase direct-only-rest; sleep 2
phase gateway; warm gateway
echo "==> $ROUNDS single pulls per side, alternating"
DONE1=0
for i in $(seq 1 "$ROUNDS"); do
  out_of_time && { echo "    (time budget of $MAX_SECS s reached: no more rounds)"; break; }
  phase direct; round direct 1; record direct 1 "$ROUND"
  phase gateway; round gateway 1; record gateway 1 "$ROUND"
  DONE1=$i
done
echo "==> $CONC_ROUNDS rounds of $CONC concurrent pulls per side, alternating"
DONEN=0
for i in $(seq 1 "$CONC_ROUNDS"); do
  out_of_time && { echo "    (time budget of $MAX_SECS s reached: no more rounds)"; break; }
  phase direct; round direct "$CONC"; record direct "$CONC" "$ROUND"
  phase gateway; round gateway "$CONC"; record gateway "$CONC" "$ROUND"
  DONEN=$i
done
phase after; sleep 3
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$PORTAL_PID/status")
phase end
# Were the gateway's pulls its own? Each is one audited manifest GET.
GW_PULLS=$((1 + CONC + DONE1 + CONC * DONEN))
AUDITED=$(api GET '/audit?action=gateway.*&limit=1000' | python3 -c 'import collections, json, sys
c = collections.Counter(e["action"] + " " + e["outcome"] for e in json.load(sys.stdin)["items"])
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none")')

# ---- the figures -----------------------------------------------------------------------
rss_of() { # PHASE_REGEX STAT(max|median|last) → MB
  awk -v p="^($1)\$" '$1 ~ p {print $2}' "$WORK/rss.txt" | {
    case $2 in max) sort -n | tail -1 ;; median) median ;; last) tail -1 ;; esac
  } | awk '{if ($1 == "") print "n/a"; else printf "%.1f", $1 / 1024}'
}
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print(f'{a / b:.2f}' if a and b else 'n/a')" "$1" "$2"; }
rate() { awk -v b="$IMAGE_BYTES" -v n="$1" -v t="$2" 'BEGIN {if (t > 0) printf "%.0f", b * n / t / 1000; else print "n/a"}'; }
cpu_per_pull() { # SIDE N → the portal's CPU ms per pull over the timed rounds
  awk -v n="$2" -v t="$TICKS" '{s += $1; r++} END {if (r) printf "%.0f", s * 1000 / t / (r * n); else print "n/a"}' "$WORK/$1-$2.cpu" 2>/dev/null || echo n/a
}
written_per_pull() { # SIDE N → MB the portal wrote per pull over the timed rounds
  awk -v n="$2" '{s += $2; r++} END {if (r) printf "%.1f", s / 1e6 / (r * n); else print "n/a"}' "$WORK/$1-$2.cpu" 2>/dev/null || echo n/a
}
D1=$(median <"$WORK/direct-1.ms"); G1=$(median <"$WORK/gateway-1.ms")
DN=$(median <"$WORK/direct-$CONC.ms"); GN=$(median <"$WORK/gateway-$CONC.ms")
IDLE=$(rss_of idle median); PEAK_D=$(rss_of direct-only max); REST_D=$(rss_of direct-only-rest last)
PEAK_G=$(rss_of "gateway|direct|after" max); AFTER=$(rss_of after last)
GROWTH=$(awk -v p="$PEAK_G" -v i="$IDLE" 'BEGIN {if (p == "n/a" || i == "n/a") print "n/a"; else printf "%.1f", p - i}')
echo
echo "== Pull gateway benchmark ($(nproc) cores, $(date -u +%Y-%m-%d), release build, SQLite, gateway on $LISTEN_MODE listener)"
echo "   image: $LAYERS gzip layers of $LAYER_MB MiB random bytes, $(awk -v b="$IMAGE_BYTES" 'BEGIN {printf "%.1f", b / 1e6}') MB of blobs per pull;" \
  "skopeo copy docker:// → dir: with the customer's pull credential"
echo "   aim: gateway ≤ 1.2 × direct, RSS growth < 100 MB; load average before the pulls $LOAD_BEFORE" \
  "(the clients, the registry and the portal share the cores: other work skews the figures)"
printf '  %-24s %12s %12s %10s %12s %12s\n' pulls direct_ms gateway_ms ratio direct_MB/s gateway_MB/s
printf '  %-24s %12s %12s %10s %12s %12s\n' "1 at a time (median $DONE1)" "$D1" "$G1" "$(ratio "$G1" "$D1")" "$(rate 1 "$D1")" "$(rate 1 "$G1")"
printf '  %-24s %12s %12s %10s %12s %12s\n' "$CONC at once (median $DONEN)" "$DN" "$GN" "$(ratio "$GN" "$DN")" "$(rate "$CONC" "$DN")" "$(rate "$CONC" "$GN")"
echo "  single pulls, ms: direct $(tr '\n' ' ' <"$WORK/direct-1.ms")| gateway $(tr '\n' ' ' <"$WORK/gateway-1.ms")"
echo "  $CONC at once, ms:  direct $(tr '\n' ' ' <"$WORK/direct-$CONC.ms")| gateway $(tr '\n' ' ' <"$WORK/gateway-$CONC.ms")"
echo "  the portal's CPU time per pull (ms): 1 at a time direct $(cpu_per_pull direct 1), gateway $(cpu_per_pull gateway 1);" \
  "$CONC at once direct $(cpu_per_pull direct "$CONC"), gateway $(cpu_per_pull gateway "$CONC")"
echo "  what the portal wrote per pull (MB, /proc/PID/io wchar): 1 at a time direct $(written_per_pull direct 1), gateway $(written_per_pull gateway 1);" \
  "$CONC at once direct $(written_per_pull direct "$CONC"), gateway $(written_per_pull gateway "$CONC")"
echo "  portal RSS (MB): idle $IDLE; peak during the direct warm-up (token service only, before any gateway pull) $PEAK_D, then $REST_D;"
echo "                   peak once the gateway served (its pulls and the direct ones between) $PEAK_G (growth $GROWTH over idle); after all pulls $AFTER; VmHWM $(mb "${HWM:-0}")"
echo "  failed pulls: $FAILS; gateway audit rows: $AUDITED (pulls through the gateway: $GW_PULLS, warm-up included)"
if [ "$FAILS" -gt 0 ]; then
  for side in direct gateway; do
    [ -s "$WORK/skopeo-$side.err" ] || continue
    echo "  skopeo's errors, $side (last lines):"; tail -n 5 "$WORK/skopeo-$side.err" | sed 's/^/    /'
  done
fi
if grep -qiE 'error|panic' "$WORK/portal.log"; then
  echo "  the portal logged (last lines):"; grep -iE 'error|panic' "$WORK/portal.log" | tail -n 5 | sed 's/^/    /'
fi
