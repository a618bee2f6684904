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
# The API (TritoneTTS, the worker, the TypeScript types) sits next to the wasm-bindgen module;
# wasm-pack names the package after the crate; the published name is tritone-tts.
cp js/* pkg/
node scripts/package-json.mjs

rm -rf www/pkg && cp -r pkg www/pkg
WASM=pkg/tritone_bg.wasm
RAW=$(wc -c <"$WASM")
GZ=$(gzip -9 -c "$WASM" | wc -c)
printf 'wasm size: %s bytes raw, %s bytes gzip -9 (%s)\n' "$RAW" "$GZ" "$WASM"
