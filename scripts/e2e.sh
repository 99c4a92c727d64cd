#!/usr/bin/env bash
# The browser tests alone (scripts/test.sh runs them after building; run this
# directly to iterate once `bash scripts/build.sh` and `cargo build -p
# stripe-standin` (with scripts/leptos-env.sh sourced) are done). Arguments go to Playwright, e.g.
#   bash scripts/e2e.sh tests/billing.spec.ts
#
# Everything runs on 127.0.0.1, on free ports, in a fresh temporary folder:
#   - the Stripe stand-in (end2end/stripe-standin) with a random sk_test_ key
#     and whsec_ secret, sending its webhooks to the portal's /stripe/webhook;
#   - a real registry (Debian's docker-registry) configured by `portcullis
#     registry config` from the portal's keys (in its database);
#   - the portal in demo mode on a fresh SQLite file, with that Stripe (grace
#     period 30 s) and that registry;
#   - the demo image pushed to acme/widget:1.0 with a push credential of the
#     demo admin.
# Every process started here is stopped by its PID at exit. E2E_KEEP=1 keeps
# the folder (logs, database) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/leptos-env.sh
source scripts/registry.sh

for bin in target/debug/portcullis target/debug/stripe-standin; do
  [ -x "$bin" ] || { echo "e2e.sh: $bin is missing: run scripts/test.sh (or bash scripts/build.sh; source scripts/leptos-env.sh; cargo build -p stripe-standin)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/portcullis-e2e.XXXXXX)
SERVER_PID="" STANDIN_PID="" REG_PID="" SMTP_PID=""
stop() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop "$SERVER_PID"
  stop "$REG_PID"
  stop "$STANDIN_PID"
  stop "$SMTP_PID"
  if [ "$rc" -ne 0 ]; then
    for log in server standin registry smtp; do
      [ -s "$WORK/$log.log" ] && { echo "--- last lines of $log.log"; tail -n 40 "$WORK/$log.log"; }
    done
  fi
  if [ "${E2E_KEEP:-0}" = "1" ]; then echo "e2e.sh: kept $WORK"; else rm -rf "$WORK"; fi
  return "$rc"
}
trap cleanup EXIT

random_hex() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }

PORT=$(free_port)
STANDIN_PORT=$(free_port)
REG_PORT=$(free_port)
while [ "$STANDIN_PORT" = "$PORT" ]; do STANDIN_PORT=$(free_port); done
while [ "$REG_PORT" = "$PORT" ] || [ "$REG_PORT" = "$STANDIN_PORT" ]; do REG_PORT=$(free_port); done
PORTAL_URL="http://127.0.0.1:$PORT"
STANDIN_URL="http://127.0.0.1:$STANDIN_PORT"
REG_HOST="127.0.0.1:$REG_PORT"
STRIPE_KEY="sk_test_$(random_hex)"
STRIPE_WHSEC="whsec_$(random_hex)"

# The portal and every `portcullis` command below share one database and one
# registry key folder (the registry trusts the keys the config was written from).
export PORTCULLIS_DATABASE_URL="sqlite://$WORK/e2e.db"
export PORTCULLIS_REGISTRY_KEY_DIR="$WORK/registry-keys"
export PORTCULLIS_REGISTRY_HOST="$REG_HOST"

echo "==> Stripe stand-in on $STANDIN_URL"
target/debug/stripe-standin --addr "127.0.0.1:$STANDIN_PORT" --api-key "$STRIPE_KEY" \
  --webhook-url "$PORTAL_URL/stripe/webhook" --webhook-secret "$STRIPE_WHSEC" >"$WORK/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 1 100); do
  grep -q "stripe-standin listening on" "$WORK/standin.log" 2>/dev/null && break
  kill -0 "$STANDIN_PID" 2>/dev/null || { echo "e2e.sh: the Stripe stand-in exited" >&2; exit 1; }
  sleep 0.1
done
grep -q "stripe-standin listening on $STANDIN_URL/" "$WORK/standin.log" \
  || { echo "e2e.sh: the Stripe stand-in did not say it listens on $STANDIN_URL/" >&2; exit 1; }

echo "==> registry on $REG_HOST"
target/debug/portcullis registry config --out "$WORK/registry" --listen "$REG_HOST" --portal-url "$PORTAL_URL" >/dev/null
docker-registry serve "$WORK/registry/config.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
wait_http "http://$REG_HOST/v2/" 401 || exit 1

# A real SMTP server on loopback (aiosmtpd from .venv/, a Maildir the
# mail journeys read).
SMTP_PORT=$(free_port)
while [ "$SMTP_PORT" = "$PORT" ] || [ "$SMTP_PORT" = "$STANDIN_PORT" ] || [ "$SMTP_PORT" = "$REG_PORT" ]; do SMTP_PORT=$(free_port); done
echo "==> SMTP server (aiosmtpd) on 127.0.0.1:$SMTP_PORT"
.venv/bin/python -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$WORK/maildir" >"$WORK/smtp.log" 2>&1 &
SMTP_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break
  kill -0 "$SMTP_PID" 2>/dev/null || { echo "e2e.sh: the SMTP server exited" >&2; exit 1; }
  sleep 0.1
done

echo "==> portal on $PORTAL_URL (demo mode, Stripe: the stand-in, grace 30 s, mail: the SMTP server)"
# Every journey logs in from 127.0.0.1, most as the demo accounts: the
# per-address and per-account log-in limits (30 and 10 a minute by default,
# tested by the integration tests) would refuse the later journeys of a suite
# that logs in more often than that within a minute.
PORTCULLIS_LOGIN_LIMIT_PER_IP=1000 PORTCULLIS_LOGIN_LIMIT_PER_ACCOUNT=1000 PORTCULLIS_SMTP_HOST=127.0.0.1 PORTCULLIS_SMTP_PORT="$SMTP_PORT" PORTCULLIS_SMTP_TLS=none \
  PORTCULLIS_MAIL_FROM="Portcullis e2e <portal@example.com>" \
LEPTOS_SITE_ADDR="127.0.0.1:$PORT" PORTCULLIS_BASE_URL="$PORTAL_URL" PORTCULLIS_LOG=warn PORTCULLIS_AUDIT_ATTEMPT_WINDOW_SECS=1 \
  PORTCULLIS_STRIPE_SECRET_KEY="$STRIPE_KEY" PORTCULLIS_STRIPE_WEBHOOK_SECRET="$STRIPE_WHSEC" \
  PORTCULLIS_STRIPE_API_BASE="$STANDIN_URL/" PORTCULLIS_BILLING_GRACE=30s \
  target/debug/portcullis serve --demo >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fsS --max-time 1 "$PORTAL_URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "e2e.sh: the portal exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS --max-time 1 "$PORTAL_URL/healthz" >/dev/null || { echo "e2e.sh: the portal does not answer" >&2; exit 1; }
demo_password() { awk -v role="$1" '$1 == "demo" && $2 == role {print $NF}' "$WORK/server.log"; }
export E2E_ADMIN_PASSWORD E2E_AUDITOR_PASSWORD E2E_CUSTOMER_PASSWORD
E2E_ADMIN_PASSWORD=$(demo_password admin)
E2E_AUDITOR_PASSWORD=$(demo_password auditor)
E2E_CUSTOMER_PASSWORD=$(demo_password customer)
[ -n "$E2E_ADMIN_PASSWORD" ] || { echo "e2e.sh: demo passwords not printed" >&2; exit 1; }

echo "==> pushing the demo image to $REG_HOST/acme/widget:1.0"
out=$(target/debug/portcullis credential create --email admin@demo.portcullis.test --name e2e-push --push)
push_user=$(awk '$1 == "username:" {print $2}' <<<"$out")
push_secret=$(awk '$1 == "secret:" {print $2}' <<<"$out")
[ -n "$push_user" ] && [ -n "$push_secret" ] || { echo "e2e.sh: no push credential in: $out" >&2; exit 1; }
build_demo_image "$WORK/image"
skopeo_isolated "$WORK/skopeo-push" copy --quiet --dest-tls-verify=false --dest-creds "$push_user:$push_secret" \
  "oci:$WORK/image/oci:1.0" "docker://$REG_HOST/acme/widget:1.0"

export E2E_BASE_URL="$PORTAL_URL"
export E2E_STANDIN_URL="$STANDIN_URL"
export E2E_STANDIN_API_KEY="$STRIPE_KEY"
export E2E_REGISTRY_HOST="$REG_HOST"
export E2E_BILLING_GRACE_SECONDS=30
export E2E_REPO_ROOT="$PWD"
export E2E_WORK="$WORK"
export E2E_MAILDIR="$WORK/maildir"
echo "==> browser tests (Playwright + Chromium)"
(cd end2end && ../node_modules/.bin/playwright test "$@")
