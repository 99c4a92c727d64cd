#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the
# portal in demo mode on SQLite (data/portcullis.db). The demo accounts'
# passwords are printed at start. Stop with Ctrl-C.
#
# It also runs a local container registry wired to the portal: Debian's
# docker-registry on 127.0.0.1:5000 (PORTCULLIS_DEMO_REGISTRY_PORT to change;
# another free port if 5000 is taken), with the config `portcullis registry
# config` writes into data/registry/ (images in data/registry/storage, log in
# data/registry/registry.log); the first time, it pushes a small demo image
# to acme/widget:1.0 with a push credential of the demo admin. The registry
# stops with the portal. PORTCULLIS_DEMO_REGISTRY=0 skips all of it.
#
# Unless Stripe is configured (PORTCULLIS_STRIPE_SECRET_KEY), it also runs the
# project's Stripe stand-in (end2end/stripe-standin, test mode: no real
# payment) on a free loopback port, so the catalogue's Subscribe/Buy buttons
# work end to end; the grace period after a failed renewal is 2 minutes.
# The stand-in keeps nothing across restarts (the portal makes its products
# and customers again). PORTCULLIS_DEMO_STRIPE=0 skips it (and so does
# PORTCULLIS_DEMO_REGISTRY=0, which runs the portal alone).
# Settings come from the environment or .env (see README); demo mode needs none.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/build.sh
source scripts/leptos-env.sh
if [ "${PORTCULLIS_DEMO_REGISTRY:-1}" = "0" ]; then
  exec target/debug/portcullis serve --demo "$@"
fi
source scripts/registry.sh

# A setting from the environment, else from .env, else the default.
setting() {
  local v="${!1:-}"
  if [ -z "$v" ] && [ -f .env ]; then
    v=$(sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$1=//p" .env | tail -n 1 | sed -e 's/^["'\'']//' -e 's/["'\'']$//')
  fi
  printf '%s' "${v:-$2}"
}
PORTAL_ADDR=$(setting LEPTOS_SITE_ADDR 127.0.0.1:3000)
PORTAL_URL=$(setting PORTCULLIS_BASE_URL "http://$PORTAL_ADDR")
PORTAL_URL=${PORTAL_URL%/}
PORTAL_LOCAL="http://$PORTAL_ADDR"
REG_DIR=data/registry
REG_PORT=${PORTCULLIS_DEMO_REGISTRY_PORT:-5000}
if port_busy "$REG_PORT"; then
  if [ -n "${PORTCULLIS_DEMO_REGISTRY_PORT:-}" ]; then
    echo "run.sh: 127.0.0.1:$REG_PORT is taken (PORTCULLIS_DEMO_REGISTRY_PORT); choose another port" >&2
    exit 1
  fi
  REG_PORT=$(free_port)
  echo "==> 127.0.0.1:5000 is taken (a packaged docker-registry service?); the demo registry uses $REG_PORT"
fi
REG_HOST="127.0.0.1:$REG_PORT"
# Snippets in the portal name this registry.
export PORTCULLIS_REGISTRY_HOST=${PORTCULLIS_REGISTRY_HOST:-$REG_HOST}

REG_PID="" PUSH_PID="" WORK="" STANDIN_PID=""
cleanup() {
  [ -n "$PUSH_PID" ] && kill "$PUSH_PID" 2>/dev/null || true
  if [ -n "$STANDIN_PID" ]; then kill "$STANDIN_PID" 2>/dev/null || true; wait "$STANDIN_PID" 2>/dev/null || true; fi
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

echo "==> registry config in $REG_DIR/ (portcullis registry config)"
target/debug/portcullis registry config --out "$REG_DIR" --listen "$REG_HOST" --portal-url "$PORTAL_URL"
docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/registry.log" 2>&1 &
REG_PID=$!
wait_http "http://$REG_HOST/v2/" 401 || { tail -n 20 "$REG_DIR/registry.log"; exit 1; }
echo "==> docker-registry on $REG_HOST (pid $REG_PID, log $REG_DIR/registry.log)"

# Online payment in test mode: the Stripe stand-in, unless Stripe is configured.
if [ "${PORTCULLIS_DEMO_STRIPE:-1}" != "0" ] && [ -z "$(setting PORTCULLIS_STRIPE_SECRET_KEY '')" ]; then
  echo "==> Stripe stand-in (test mode, no real payment)"
  cargo build -p stripe-standin
  STANDIN_PORT=$(free_port)
  STANDIN_KEY="sk_test_demo_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  STANDIN_WHSEC="whsec_demo_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  target/debug/stripe-standin --addr "127.0.0.1:$STANDIN_PORT" --api-key "$STANDIN_KEY" \
    --webhook-url "$PORTAL_LOCAL/stripe/webhook" --webhook-secret "$STANDIN_WHSEC" >data/stripe-standin.log 2>&1 &
  STANDIN_PID=$!
  wait_http "http://127.0.0.1:$STANDIN_PORT/test/webhooks" 200 || { tail -n 20 data/stripe-standin.log; exit 1; }
  export PORTCULLIS_STRIPE_SECRET_KEY="$STANDIN_KEY" PORTCULLIS_STRIPE_WEBHOOK_SECRET="$STANDIN_WHSEC"
  export PORTCULLIS_STRIPE_API_BASE="http://127.0.0.1:$STANDIN_PORT/"
  export PORTCULLIS_BILLING_GRACE="${PORTCULLIS_BILLING_GRACE:-2m}"
  echo "==> Stripe stand-in on http://127.0.0.1:$STANDIN_PORT/ (pid $STANDIN_PID, log data/stripe-standin.log)"
fi

# Once the portal answers: push the demo image (first run only) and say how to pull it.
WORK=$(mktemp -d /tmp/portcullis-run.XXXXXX)
demo_push() {
  wait_http "$PORTAL_LOCAL/healthz" 200 || return 1
  local tagfile="$REG_DIR/storage/docker/registry/v2/repositories/acme/widget/_manifests/tags/1.0"
  if [ ! -e "$tagfile" ]; then
    local name out user secret
    name="demo-push-$(date -u +%Y%m%d%H%M%S)"
    out=$(target/debug/portcullis credential create --email admin@demo.portcullis.test --name "$name" --push) || return 1
    user=$(awk '$1 == "username:" {print $2}' <<<"$out")
    secret=$(awk '$1 == "secret:" {print $2}' <<<"$out")
    build_demo_image "$WORK/image"
    if ! skopeo_isolated "$WORK/skopeo" copy --quiet --dest-tls-verify=false --dest-creds "$user:$secret" \
      "oci:$WORK/image/oci:1.0" "docker://$REG_HOST/acme/widget:1.0"; then
      echo "run.sh: pushing the demo image failed (see $REG_DIR/registry.log)" >&2
      return 1
    fi
    echo "==> pushed acme/widget:1.0 to $REG_HOST (push credential \"$name\" of the demo admin)"
  fi
  cat <<EOF

==> Pull your first image: acme/widget:1.0 is on the registry at $REG_HOST
  1. Log in at $PORTAL_URL/login as customer@demo.portcullis.test (password above).
  2. Open $PORTAL_URL/account/credentials, create a credential, copy its user name and secret
     (or: target/debug/portcullis credential create --email customer@demo.portcullis.test --name laptop).
  3. Pull (plain http on loopback, hence no TLS check):
       skopeo copy --src-tls-verify=false --src-creds USER:SECRET docker://$REG_HOST/acme/widget:1.0 dir:/tmp/widget
       podman pull --tls-verify=false --creds USER:SECRET $REG_HOST/acme/widget:1.0
       docker login $REG_HOST -u USER && docker pull $REG_HOST/acme/widget:1.0
     (Docker trusts 127.0.0.0/8 over http by default; for another host add it to
      "insecure-registries" in /etc/docker/daemon.json.)
  The pull shows in the audit log (log in as the auditor) and under "last pulled".

EOF
  if [ -n "$STANDIN_PID" ]; then
    cat <<EOF
==> Buy online (Stripe stand-in, test mode): sign up at $PORTAL_URL/signup, open Acme Widget in the
  catalogue, press "Subscribe monthly", then "Pay" on the stand-in's page. Drive "Stripe" from a shell
  (SUB_ID: from curl http://127.0.0.1:$STANDIN_PORT/test/checkout/sessions/SESSION_ID, the id in the
  success page's URL):
    curl -X POST http://127.0.0.1:$STANDIN_PORT/test/subscriptions/SUB_ID/fail_next_invoice
    curl -X POST http://127.0.0.1:$STANDIN_PORT/test/subscriptions/SUB_ID/advance    # fails: 2 min of grace
    curl -X POST http://127.0.0.1:$STANDIN_PORT/test/subscriptions/SUB_ID/pay_open_invoice

EOF
  fi
}
demo_push &
PUSH_PID=$!

target/debug/portcullis serve --demo "$@"
