#!/usr/bin/env python3
"""tritone against onnxruntime on the same input, same voice, same thread count, in one run.

The paragraph (the script's own English text, phonemized by `tritone phonemize`, kept to the
vocabulary) is spoken by:
  - tritone:      `tritone bench --model M --phonemes P --threads N --runs R --json [--int8]`
  - onnxruntime:  kokoro-onnx's int8 file (the model tritone's real GGUF is converted from),
                  CPUExecutionProvider, intra-op threads N, the same tokens, voice pack row and speed.
Runs alternate (ORT, tritone, ORT, …) so both see the same machine load; medians, RTFs and the
ratio tritone / onnxruntime (below 1: tritone is faster) are printed per thread count.

Example (setup's venv has onnxruntime):
  target/asrenv/bin/python tools/bench/compare.py --tritone target/release/tritone \\
      --model target/real/kokoro-f32.gguf --threads 1,2 --runs 3
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

PARAGRAPH = (
    "The old lighthouse keeper climbed the winding stairs every evening at dusk. "
    "From the top, he could see the fishing boats returning to the harbor, their lights "
    "flickering like tiny stars on the dark water. He had done this for forty years, and "
    "he never grew tired of the view."
)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tritone", default="target/release/tritone")
    ap.add_argument("--model", default="target/real/kokoro-f32.gguf")
    ap.add_argument("--onnx", default="target/real/kokoro-v1.0.int8.onnx")
    ap.add_argument("--voices", default="target/real/voices_ja.npz")
    ap.add_argument("--vocab", default="target/real/vocab.json")
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--int8", action="store_true", help="tritone's CPU convolutions in int8 arithmetic (bench --int8)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()

    import onnxruntime as ort

    with open(a.vocab) as f:
        vocab = json.load(f)["vocab"]
    phonemes = subprocess.run([a.tritone, "phonemize", PARAGRAPH], check=True, capture_output=True, text=True).stdout.strip()
    phonemes = "".join(c for c in phonemes if c in vocab)
    if len(phonemes) > 510:
        sys.exit(f"the paragraph is {len(phonemes)} phonemes; kokoro-onnx takes at most 510")
    tokens = np.array([[0] + [vocab[c] for c in phonemes] + [0]], dtype=np.int64)
    style = np.load(a.voices)[a.voice][len(phonemes) - 1].reshape(1, 256).astype(np.float32)
    speed = np.array([1.0], np.float32)
    print(f"{len(phonemes)} phonemes, voice {a.voice}, onnxruntime {ort.__version__}", flush=True)

    results = {}
    for threads in [int(t) for t in a.threads.split(",")]:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(a.onnx, opts, providers=["CPUExecutionProvider"])
        feed = {"tokens": tokens, "style": style, "speed": speed}
        audio = sess.run(None, feed)[0]  # warm-up
        audio_s = audio.size / 24000
        ort_times, tritone_runs = [], []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            sess.run(None, feed)
            ort_times.append(time.perf_counter() - t0)
            out = subprocess.run([a.tritone, "bench", "--model", a.model, "--voice", a.voice, "--phonemes", phonemes,
                                  "--threads", str(threads), "--runs", "1", "--json"] + (["--int8"] if a.int8 else []),
                                 check=True, capture_output=True, text=True)
            tritone_runs.append(json.loads(out.stdout))
        ort_median = statistics.median(ort_times)
        tritone_median = statistics.median(r["median_s"] for r in tritone_runs)
        tritone_audio = tritone_runs[0]["audio_s"]
        gflops = statistics.median(r["gflops"] for r in tritone_runs)
        results[threads] = {
            "onnxruntime": {"median_s": ort_median, "audio_s": audio_s, "rtf": ort_median / audio_s, "runs_s": ort_times},
            "tritone": {"median_s": tritone_median, "audio_s": tritone_audio, "rtf": tritone_median / tritone_audio,
                        "gflops": gflops, "backend": tritone_runs[0]["backend"], "runs_s": [r["median_s"] for r in tritone_runs]},
        }
        ratio = (tritone_median / tritone_audio) / (ort_median / audio_s)
        results[threads]["ratio_rtf"] = ratio
        print(f"threads {threads}: onnxruntime (int8 file) median {ort_median:.2f} s for {audio_s:.2f} s, RTF {ort_median / audio_s:.3f}; "
              f"tritone median {tritone_median:.2f} s for {tritone_audio:.2f} s, RTF {tritone_median / tritone_audio:.3f} "
              f"({gflops:.1f} GFLOP/s); tritone / onnxruntime = {ratio:.2f}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"phonemes": phonemes, "voice": a.voice, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
