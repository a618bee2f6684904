#!/usr/bin/env bash
# Builds the wasm package with wasm-pack into pkg/ (the npm package `tritone-tts`) and copies it
# to www/pkg for the demo page. Prints the wasm size, raw and gzipped.
# Usage: scripts/build-wasm.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f target/toolchain.env ] || scripts/setup.sh
# shellcheck source=/dev/null
source target/toolchain.env
# wasm-pack takes the first wasm-opt on PATH: use the pinned binaryen from npm.
export PATH="$PWD/node_modules/.bin:$PATH"

PROFILE=--release
[ "${1:-}" = "--dev" ] && PROFILE=--dev
wasm-pack build --target web --out-dir pkg --out-name tritone $PROFILE . -- --quiet
# The threaded build (pkg/threads): the CPU kernels on rayon over Web Workers sharing the
# module's memory, for cross-origin isolated pages. Atomics need a std built with them, so std
# is rebuilt from source (-Z build-std, allowed on stable by RUSTC_BOOTSTRAP; the source is
# rustup's rust-src or Debian's rust-web-src). Its own target dir: other flags, other artifacts.
# The linker makes the memory shared and imported (the workers receive it) only when told.
# RUSTFLAGS replaces .cargo/config.toml's flags, so they are repeated here.
LINK="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base"
CARGO_TARGET_DIR=target/wasm-threads RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals -C llvm-args=-disable-lsr $(printf -- ' -C link-arg=%s' $LINK)" \
  wasm-pack build --target web --out-dir pkg/threads --out-name tritone $PROFILE . \
  -- --features wasm-threads --quiet -Z build-std=panic_abort,std
# Only the module, its wasm and its snippets (the worker helper): one package.json, one README.
rm -f pkg/threads/package.json pkg/threads/README.md pkg/threads/LICENSE pkg/threads/.gitignore
# The API (TritoneTTS, the worker, the TypeScript types) sits next to the wasm-bindgen module;
# wasm-pack names the package after the crate; the published name is tritone-tts.
cp js/* pkg/
node scripts/package-json.mjs

rm -rf www/pkg && cp -r pkg www/pkg
for WASM in pkg/tritone_bg.wasm pkg/threads/tritone_bg.wasm; do
  RAW=$(wc -c <"$WASM")
  GZ=$(gzip -9 -c "$WASM" | wc -c)
  printf 'wasm size: %s bytes raw, %s bytes gzip -9 (%s)\n' "$RAW" "$GZ" "$WASM"
done
