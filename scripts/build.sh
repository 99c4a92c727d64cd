#!/usr/bin/env bash
# Builds the portal as cargo-leptos 0.3.4 would (`cargo leptos build
# [--release]`), with plain cargo and the tools install.sh provides, so a
# fresh machine does not spend ~20 minutes compiling cargo-leptos itself:
#
#   1. the wasm (`frontend`, feature `hydrate`) into target/front, and at the
#      same time the server (`server`, bin `portcullis`, feature `ssr`) into
#      target/debug or target/release: same RUSTFLAGS, LEPTOS_* variables,
#      target folders and output names as cargo-leptos, so `cargo leptos
#      build`/`watch` and these scripts reuse each other's artifacts;
#   2. the wasm split at its `#[lazy]` functions (the lazy routes in
#      app/src/app.rs), as `cargo leptos build --split` does: linked with
#      --emit-relocs, cut by portcullis-wasm-split (tools/wasm-split, the
#      library cargo-leptos uses) into target/site/pkg/chunk_*/split_*.wasm,
#      the loader __wasm_split.______________________.js and
#      __wasm_split_manifest.json (HydrationScripts reads it to preload the
#      chunks a page used);
#   3. wasm-bindgen --target=web → target/site/pkg/portcullis.{js,wasm}
#      (release: wasm-opt -Oz on every wasm file and the JS minified, as
#      cargo-leptos does);
#   4. Tailwind v4 (style/tailwind.css) → target/site/pkg/portcullis.css;
#   5. public/ mirrored into target/site.
#
# Usage: bash scripts/build.sh [--release]
# The environment comes from scripts/leptos-env.sh (sourced with the same
# argument), which the test and bench scripts also source before plain cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
case "$MODE" in
  "" | --release) ;;
  *) echo "usage: bash scripts/build.sh [--release]" >&2; exit 2 ;;
esac
# shellcheck source=leptos-env.sh
source scripts/leptos-env.sh $MODE

if [ "$MODE" = --release ]; then
  server_profile=(--release); server_dir=release
  front_profile=(--profile=wasm-release); front_dir=wasm-release
else
  server_profile=(); server_dir=debug
  front_profile=(); front_dir=debug
fi
PKG="$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"
mkdir -p "$PKG"

# The wasm and the server compile at once, as under cargo-leptos: their
# target folders differ, so neither waits for the other's lock, and the
# two cores stay busy through each build's serial stretches.
echo "==> cargo build -p frontend (wasm32, hydrate) and -p server (ssr)"
# `cargo rustc … -- -Clink-args=--emit-relocs`: the relocations the split
# needs, passed to the final link only (cargo-leptos puts the flag in
# RUSTFLAGS, which would rebuild every dependency for a link argument).
cargo rustc --package=frontend --lib --target-dir=target/front --target=wasm32-unknown-unknown \
  --no-default-features --features=hydrate "${front_profile[@]}" -- -Clink-args=--emit-relocs &
front_pid=$!
server_rc=0
cargo build --package=server --bin=portcullis --no-default-features --features=ssr "${server_profile[@]}" || server_rc=$?
front_rc=0
wait "$front_pid" || front_rc=$?
[ "$server_rc" -eq 0 ] || { echo "build.sh: the server build failed" >&2; exit "$server_rc"; }
[ "$front_rc" -eq 0 ] || { echo "build.sh: the wasm build failed" >&2; exit "$front_rc"; }

# Skipped when the wasm did not change since the last run of this mode (the
# stamp names the input, so switching between debug and release re-runs it).
WASM_IN="target/front/wasm32-unknown-unknown/$front_dir/frontend.wasm"
STAMP="target/front/site-built-from"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WASM_IN" ] && [ "$PKG/$LEPTOS_OUTPUT_NAME.wasm" -nt "$WASM_IN" ] \
   && [ -f "$PKG/$LEPTOS_OUTPUT_NAME.js" ]; then
  echo "==> $PKG/$LEPTOS_OUTPUT_NAME.{js,wasm} are up to date"
else
rm -f "$STAMP"
echo "==> portcullis-wasm-split → $PKG/{chunk_*,split_*}.wasm, __wasm_split.*.js, __wasm_split_manifest.json"
rm -f "$PKG"/chunk_*.wasm "$PKG"/split_*.wasm "$PKG"/__wasm_split*
WASM_SPLIT="${WASM_IN%.wasm}_split.wasm"
portcullis-wasm-split "$WASM_IN" "$PKG" "$WASM_SPLIT" "$LEPTOS_OUTPUT_NAME" >/dev/null
echo "==> wasm-bindgen → $PKG/$LEPTOS_OUTPUT_NAME.{js,wasm}"
wasm-bindgen --target=web --keep-lld-exports --no-demangle \
  --out-name="$LEPTOS_OUTPUT_NAME" --out-dir="$PKG" "$WASM_SPLIT"
# cargo-leptos renames NAME_bg.wasm to NAME.wasm (what leptos' HydrationScripts loads).
mv -f "$PKG/${LEPTOS_OUTPUT_NAME}_bg.wasm" "$PKG/$LEPTOS_OUTPUT_NAME.wasm"
if [ "$MODE" = --release ]; then
  echo "==> wasm-opt -Oz (the main module and each chunk, two at a time)"
  # Hundreds of chunks: all at once would exhaust memory.
  printf '%s\0' "$PKG/$LEPTOS_OUTPUT_NAME.wasm" "$PKG"/chunk_*.wasm "$PKG"/split_*.wasm \
    | xargs -0 -P 2 -I{} wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int {} -o {}
  echo "==> minify $LEPTOS_OUTPUT_NAME.js and the split loader"
  # (cargo-leptos leaves the loader as it is: minified it is 1 KB smaller in brotli.)
  for js in "$PKG/$LEPTOS_OUTPUT_NAME.js" "$PKG"/__wasm_split.*.js; do
    esbuild --minify --format=esm --log-level=warning --log-override:duplicate-object-key=silent "$js" \
      --outfile="$js.min"
    mv -f "$js.min" "$js"
  done
fi
echo "$WASM_IN" >"$STAMP"
fi

echo "==> tailwindcss → $PKG/$LEPTOS_OUTPUT_NAME.css"
tw_args=(--input style/tailwind.css --output "$PKG/$LEPTOS_OUTPUT_NAME.css")
[ "$MODE" = --release ] && tw_args+=(--minify)
rm -f "$PKG/$LEPTOS_OUTPUT_NAME.css"
tailwindcss "${tw_args[@]}"
[ -s "$PKG/$LEPTOS_OUTPUT_NAME.css" ] || { echo "build.sh: tailwindcss wrote no CSS" >&2; exit 1; }

# public/ → site root, as cargo-leptos mirrors its assets-dir (pkg/ is kept).
find "$LEPTOS_SITE_ROOT" -mindepth 1 -maxdepth 1 ! -name "$LEPTOS_SITE_PKG_DIR" -exec rm -rf {} +
cp -R public/. "$LEPTOS_SITE_ROOT"/
echo "==> built target/$server_dir/portcullis and $LEPTOS_SITE_ROOT/"
