# Sourced by the scripts: the environment cargo-leptos 0.3.4 gives cargo for
# this workspace (debug, or release with `--release`). scripts/build.sh builds
# with it, and plain `cargo test`/`cargo run` with the same variables reuse
# those artifacts instead of rebuilding the whole tree (RUSTFLAGS is part of
# every crate's fingerprint). `cargo leptos build`/`watch` set the same.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Components are erased in release too (`always-erase-components` in the
# workspace metadata, as cargo-leptos reads it): one AnyView instead of a
# nest of generic view types per page made the release wasm 20% smaller
# (bench/payload.sh; README, benchmark figures).
export RUSTFLAGS="--cfg erase_components"
if [ "${1:-}" = --release ]; then
  export LEPTOS_JS_MINIFY=true
else
  export LEPTOS_JS_MINIFY=false
fi
export LEPTOS_OUTPUT_NAME=portcullis
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:3000
export LEPTOS_RELOAD_PORT=3001
export LEPTOS_LIB_DIR=frontend
export LEPTOS_BIN_DIR=server
export LEPTOS_HASH_FILES=false
