#!/usr/bin/env bash
# Every test tritone has, from a fresh machine: setup, then
#   1. native cargo test (CPU kernels vs references, fixtures, shader validation)
#   2. native GPU tier: WGSL kernels through wgpu on the machine's adapter (lavapipe without a GPU)
#   3. lint: clippy with -D warnings, native and wasm32
#   4. browser tier: the wasm-pack build in headless Chromium, WebGPU and CPU simd128, and Kokoro
#      speaking in the page from a GGUF model (the demo with the real model, loaded by itself)
#   5. real-speech tier (scripts/test-real.sh): the real Kokoro-82M against an independent
#      dequantization, PyTorch, onnxruntime and Whisper
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
# Each step says how much disk is left: a full disk is the likeliest failure on a small machine.
step() { printf '\n\033[1;32m==> %s\033[0m (%ds, %s free)\n' "$*" $((SECONDS - START)) "$(df -h --output=avail . | tail -1 | tr -d ' ')"; }
# Incremental caches only help edit-compile loops; here they would double the target's size.
export CARGO_INCREMENTAL=0
# pip's cache would keep a second copy of PyTorch's ~3.4 GB of wheels.
export PIP_NO_CACHE_DIR=1

step "setup"
scripts/setup.sh
# Mesa's loaders complain without it; harmless otherwise.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

step "native tests (CPU, fixtures, shaders, GPU tier)"
cargo test --all-features -- --nocapture 2>&1 | grep -vE '^error: XDG_RUNTIME_DIR' || exit 1

step "clippy (native)"
cargo clippy --all-targets --all-features -- -D warnings

step "clippy (wasm32)"
# shellcheck source=/dev/null
(source target/toolchain.env && cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings)

step "wasm build"
scripts/build-wasm.sh

step "test models for the browser tier (small config, seeded weights: F16, Q4_K, TQ1_0, a quantize --budget plan, and F32 twins)"
# The CLI first: the F32 twins come from `tritone convert`, and synthesis.test.mjs runs it.
# With the tests' features and targets (dev-dependencies add serde features), the CLI and the
# example are the ones `cargo test` built: another feature set would compile the crate twice more.
cargo build --quiet --all-features --all-targets
SMALL=tests/fixtures/reference/small/config.json
RANDOM_MODEL=target/debug/examples/random_model
$RANDOM_MODEL "$SMALL" target/web-fixtures/small.gguf
# hidden 64: for repeated syntheses on SwiftShader (webgpu.test.mjs)
$RANDOM_MODEL tests/fixtures/tiny-config.json target/web-fixtures/tiny.gguf
# Quantized models and the same weights decoded to F32 (quantized.test.mjs: same speech, smaller heap).
for q in q4_k tq1_0; do
  $RANDOM_MODEL "$SMALL" "target/web-fixtures/small-$q.gguf" "$q"
  target/debug/tritone convert --gguf "target/web-fixtures/small-$q.gguf" --dtype f32 --out "target/web-fixtures/small-$q-f32.gguf"
done
# A `tritone quantize --budget` plan: Q4_K and TQ1_0 parts, F16 voices.
target/debug/tritone quantize --in target/web-fixtures/small.gguf --out target/web-fixtures/small-mixed.gguf \
  --budget 30MB --ladder q4_k,tq1_0 --nearest --eval-sentences 1
target/debug/tritone convert --gguf target/web-fixtures/small-mixed.gguf --dtype f32 --out target/web-fixtures/small-mixed-f32.gguf

step "browser tier (headless Chromium, WebGPU + simd128; the demo with the real model)"
node --test --test-concurrency=1 tests/web/

step "real-speech tier (real Kokoro-82M: importer, PyTorch, onnxruntime, Whisper)"
scripts/test-real.sh

step "all tests passed in $((SECONDS - START)) s"
