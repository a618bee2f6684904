#!/usr/bin/env bash
# Regenerates tests/fixtures/reference/small/ (committed reference outputs of the "small" config)
# and tests/fixtures/reference/pth/ (tiny .pth checkpoints for the Rust .pth reader).
# Run from anywhere; PY defaults to the repo's reference venv (see tools/reference/README.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PY:-$ROOT/target/refenv/bin/python}"
OUT="$ROOT/tests/fixtures/reference/small"
mkdir -p "$OUT"
# full intermediates for the short cases (1 thread: the thread count changes PyTorch's rounding)
"$PY" "$ROOT/tools/reference/golden.py" --config small --seed 0 --threads 1 --timing-runs 1 \
    --out "$OUT" --case short --case short_speed1.3 --case oov
# medium: only the text -> prosody stage and the audio (all arrays would be ~10 MB)
"$PY" "$ROOT/tools/reference/golden.py" --config small --seed 0 --threads 1 --timing-runs 1 \
    --out "$OUT" --case medium --checksums none \
    --keep input_ids,ref_s,pred_dur,duration_float,duration_logits,bert_out,dur_enc_out,text_enc_out,F0_proj_out,N_proj_out,audio
rm -f "$OUT/summary.json"
"$PY" "$ROOT/tools/reference/make_pth_fixtures.py" --out "$ROOT/tests/fixtures/reference/pth"
du -sh "$OUT" "$ROOT/tests/fixtures/reference/pth" 2>/dev/null || true
