#!/usr/bin/env bash
# Sets everything up, builds the wasm package and serves the demo page on 127.0.0.1.
# Usage: scripts/dev.sh [port]   (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-wasm.sh
exec node scripts/serve.mjs "${1:-8080}"
