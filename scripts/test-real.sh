#!/usr/bin/env bash
# The real-speech tier: the real Kokoro-82M (kokoro-onnx's int8 export, converted by tritone),
# checked four ways. Needs scripts/setup.sh (venvs, target/real) and target/debug/tritone.
#   1. importer: every converted tensor against an independent NumPy dequantization; broken files refused
#   2. fp32 export: kokoro's own KModelForONNX export of these weights converts back to them (and its fp16 copy)
#   3. faithful: tritone vs the official PyTorch Kokoro on the same weights (durations, log-mel)
#   4. onnxruntime on the original int8 file vs tritone: durations, transcripts
#   5. intelligibility: Whisper tiny.en WER of a 43-sentence English set (jf_alpha, both phoneme paths, ≤ 6 %)
#   6. packed weights: a Q4_K model speaks exactly as its F32 decoding, in at most file + 200 MB
#   7. tritone serve through the official OpenAI Python client (Whisper hears it), and a bounded load test
set -euo pipefail
cd "$(dirname "$0")/.."
REAL=target/real
BIN=target/debug/tritone
START=$SECONDS
part() { printf '\n\033[1;36m--> %s\033[0m (%ds)\n' "$*" $((SECONDS - START)); }

part "importer: int8 ONNX → GGUF, tensor by tensor"
target/pyenv/bin/python tools/onnx/verify_import.py --onnx $REAL/kokoro-v1.0.int8.onnx --gguf $REAL/kokoro-f32.gguf --tritone $BIN

part "fp32 export (kokoro's KModelForONNX, opset 17) → tritone convert --onnx → the same weights"
EXPORT=$REAL/kokoro-fp32-export.onnx
if [ ! -s $EXPORT ] || [ $REAL/kokoro-f32.gguf -nt $EXPORT ]; then
  target/refenv/bin/python tools/reference/export_onnx.py --model $REAL/kokoro-f32.gguf --out $EXPORT
fi
$BIN convert --onnx $EXPORT --voices $REAL/voices_ja.npz --dtype f32 --out $REAL/kokoro-from-export.gguf 2>&1 | grep -v '^note:'
target/pyenv/bin/python tools/onnx/compare_gguf.py $REAL/kokoro-from-export.gguf $REAL/kokoro-f32.gguf
# fp16 like kokoro-onnx's kokoro-v1.0.fp16.onnx: fp16 initializers read through Cast nodes, within f16's half ulp
target/refenv/bin/python tools/onnx/to_fp16.py $EXPORT $REAL/kokoro-fp16-export.onnx 2>/dev/null
$BIN convert --onnx $REAL/kokoro-fp16-export.onnx --voices $REAL/voices_ja.npz --dtype f32 --out $REAL/kokoro-from-fp16.gguf 2>&1 | grep -v '^note:'
target/pyenv/bin/python tools/onnx/compare_gguf.py $REAL/kokoro-from-fp16.gguf $REAL/kokoro-f32.gguf --rtol 4.9e-4

part "faithful: tritone vs PyTorch Kokoro on the real weights (4 sentences × 2 voices)"
target/refenv/bin/python tools/reference/faithful.py --model $REAL/kokoro-f32.gguf --tritone $BIN --out target/faithful

part "faithful in int8 arithmetic (--int8): same durations, log-mel ≤ 1.5 dB (measured 0.80-1.06)"
target/refenv/bin/python tools/reference/faithful.py --model $REAL/kokoro-f32.gguf --tritone $BIN --out target/faithful-int8 --say-arg=--int8 --max-l1-db 1.5

part "onnxruntime on the int8 file vs tritone"
target/asrenv/bin/python tools/asr/ort_check.py --tritone $BIN --model $REAL/kokoro-f32.gguf --onnx $REAL/kokoro-v1.0.int8.onnx \
  --whisper $REAL/whisper-tiny.en --limit 6

# One voice keeps the tier near 15 minutes on 2 cores; the README's command scores both (jm_kumo: 0.2 %).
part "intelligibility: Whisper WER of 43 sentences, jf_alpha, tritone's phonemizer and misaki's (each ≤ 6 %)"
target/asrenv/bin/python -m unittest discover -s tools/asr -p 'test_*.py'
target/asrenv/bin/python tools/asr/score.py --tritone $BIN --model $REAL/kokoro-f32.gguf --voice jf_alpha \
  --path both --whisper $REAL/whisper-tiny.en --jobs 2 --report target/asr/f32.json --max-wer 0.06

part "packed weights: Q4_K vs its F32 decoding (same samples; peak RSS ≤ file + 200 MB)"
target/pyenv/bin/python tools/quant/packed_check.py --tritone $BIN --model $REAL/kokoro-f32.gguf --dtype q4_k

part "tritone serve: the OpenAI Python client, Whisper, streaming, errors, SIGTERM"
target/asrenv/bin/python tools/serve/openai_check.py --tritone $BIN --model $REAL/kokoro-f16.gguf --whisper $REAL/whisper-tiny.en

part "tritone serve: load test on loopback (4 requests per level at 1, 2 and 4 clients)"
target/asrenv/bin/python tools/serve/load.py --tritone $BIN --model $REAL/kokoro-f16.gguf --requests 4 --concurrency 1 2 4

part "real-speech tier passed in $((SECONDS - START)) s"
