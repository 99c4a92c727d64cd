#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs the
# portal in demo mode on SQLite (data/portcullis.db). The demo accounts'
# passwords are printed at start. Stop with Ctrl-C.
# Settings come from the environment or .env (see README); demo mode needs none.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
echo "==> cargo leptos build"
cargo leptos build
exec target/debug/portcullis serve --demo "$@"
