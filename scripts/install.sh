#!/usr/bin/env bash
# Installs what building, running and testing Portcullis needs, skipping what
# is already there. Safe to run again. Debian with Rust from rustup assumed.
#   apt:    postgresql (tests), chromium (browser tests), brotli (benchmark),
#           docker-registry, skopeo, umoci (the real registry: tests, demo, benchmark),
#           haproxy (the fleet tests' balancer), wrk (benchmark)
#   rustup: the wasm32-unknown-unknown target
#   cargo:  wasm-bindgen-cli matching Cargo.lock (not cargo-leptos: ~20 min to
#           compile; scripts/build.sh does its job with the tools below);
#           portcullis-wasm-split (tools/wasm-split: cargo-leptos's --split step)
#   npm:    tailwindcss, wasm-opt (binaryen), esbuild (release JS minifier),
#           Playwright (package.json)
#   PyPI:   schemathesis (the REST API contract test, scripts/api-contract.sh),
#           aiosmtpd (the real SMTP server the mail tests read), in .venv/
#           in a virtual environment .venv/ (git-ignored); apt's python3-venv
#           if `python3 -m venv` cannot make one
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v brotli >/dev/null || need_apt+=(brotli)
command -v curl >/dev/null || need_apt+=(curl)
# The CNCF Distribution registry (2.8.2 on Debian 12), a client, and a tool
# that builds OCI images offline. We never use the package's own service
# (all interfaces, htpasswd): the scripts and tests run
# `docker-registry serve CONFIG` with a loopback config from
# `portcullis registry config`. Where systemd runs, installing the package
# may start that service on :5000; scripts/run.sh then picks another port.
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v umoci >/dev/null || need_apt+=(umoci)
command -v haproxy >/dev/null || need_apt+=(haproxy)
command -v wrk >/dev/null || need_apt+=(wrk)
if ((${#need_apt[@]})); then
  say "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen crate exactly (pinned with = in Cargo.toml).
wb=$(sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;q}' Cargo.lock)
if [ -z "$wb" ]; then echo "install.sh: no wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
  say "cargo install wasm-bindgen-cli $wb"
  # Not --locked: its lock file wants a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$wb"
fi

# What `cargo leptos build --split` does after cargo (scripts/build.sh step 2):
# a small command over the library cargo-leptos uses, with its own lock file.
split_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' tools/wasm-split/Cargo.toml | head -1)
if ! cargo install --list | grep -q "^portcullis-wasm-split v$split_version "; then
  say "cargo install portcullis-wasm-split $split_version (tools/wasm-split)"
  cargo install --locked --path tools/wasm-split --target-dir target/tools
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ ! -x node_modules/.bin/esbuild ] \
   || [ ! -d node_modules/@playwright/test ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "npm install (Tailwind, binaryen's wasm-opt, Playwright without its browser download)"
  # npm ci rejects this lock file under npm 11 (it omits other platforms' optional
  # packages); package.json pins exact versions, so install is as reproducible.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error
fi
# The REST API's contract test: schemathesis, pinned, in the repository's own venv.
SCHEMATHESIS_VERSION=4.32.5
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      say "apt-get install python3-venv"
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    rm -rf .venv
    python3 -m venv .venv
  fi
  say "pip install schemathesis==$SCHEMATHESIS_VERSION (into .venv/)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# The mail tests' SMTP server on loopback (`python -m aiosmtpd`, a Maildir).
AIOSMTPD_VERSION=1.4.6
if ! .venv/bin/python -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
  say "pip install aiosmtpd==$AIOSMTPD_VERSION (into .venv/)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi
say "tools ready"
