# Sourced by the scripts: the environment cargo-leptos 0.3.4 gives cargo for a
# debug build of this workspace. Plain `cargo test` with the same variables
# reuses cargo-leptos's artifacts instead of rebuilding the whole tree.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export RUSTFLAGS="--cfg erase_components"
export LEPTOS_OUTPUT_NAME=portcullis
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:3000
export LEPTOS_RELOAD_PORT=3001
export LEPTOS_LIB_DIR=frontend
export LEPTOS_BIN_DIR=server
export LEPTOS_JS_MINIFY=false
export LEPTOS_HASH_FILES=false
