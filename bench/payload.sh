#!/usr/bin/env bash
# The browser payload of the release build (issue 21, point 6: under 400 KB
# brotli for a first load): builds it (scripts/build.sh --release: the wasm
# split at the lazy routes, wasm-opt -Oz, minified JS and CSS), then prints
# each file raw and brotli (-q 11), the first load of a page outside the
# lazy routes (main wasm + JS + split loader + CSS) and, per lazy route, that
# plus the chunks the page preloads (bench/payload.py). KB = 1,000 bytes.
# What each change to get here cost or saved: README, benchmark figures.
# Usage: bash bench/payload.sh [--no-build] [LABEL]   (LABEL: a last summary line)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --no-build ]; then shift; else
  bash scripts/install.sh
  echo "==> release build (scripts/build.sh --release)"
  bash scripts/build.sh --release
fi
source scripts/leptos-env.sh --release
echo "Browser payload (release; wasm-opt from npm binaryen; brotli -q 11):"
python3 bench/payload.py "$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR" "$@"
