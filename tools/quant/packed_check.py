"""A block-format model of the real weights against the same weights decoded to F32.

Converts the F32 model to each --dtype with `tritone convert --gguf`, decodes that back to F32,
speaks the same phonemes with both (same voice and seed), and checks: durations identical,
samples identical (max |diff| <= 1e-6), and the packed model's peak RSS (`/usr/bin/time -v`)
at most its file size + 200 MB, i.e. the weights stay packed in memory.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

PHONEMES = "ðɪs ɪz ə tˈɛst ʌv kwˈɑntˌIzd wˈAts, spˈOkən bI ðə kˈOkəɹO mˈɑdᵊl."
HEADROOM = 200e6


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return out


def say(tritone, model, voice, dump):
    out = run(["/usr/bin/time", "-v", tritone, "say", "--model", model, "--voice", voice, "--phonemes", PHONEMES,
               "--seed", "3", "--backend", "cpu", "--dump", dump, "--out", os.path.join(dump, "say.wav")])
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return np.load(os.path.join(dump, "durations.npy")), np.load(os.path.join(dump, "audio.npy")), rss_kb * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tritone", required=True)
    ap.add_argument("--model", required=True, help="the F32 tritone GGUF")
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--dtype", nargs="+", default=["q4_k"])
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in args.dtype:
            packed = os.path.join(tmp, f"{dtype}.gguf")
            decoded = os.path.join(tmp, f"{dtype}-as-f32.gguf")
            run([args.tritone, "convert", "--gguf", args.model, "--dtype", dtype, "--out", packed])
            run([args.tritone, "convert", "--gguf", packed, "--dtype", "f32", "--out", decoded])
            results = []
            for path in (packed, decoded):
                dump = path + ".dump"
                os.makedirs(dump)
                results.append(say(args.tritone, path, args.voice, dump))
            (dp, ap_, rss), (dd, ad, rss_f32) = results
            size = os.path.getsize(packed)
            same_durations = dp.shape == dd.shape and bool((dp == dd).all())
            diff = float(np.abs(ap_ - ad).max()) if ap_.shape == ad.shape else float("inf")
            print(f"{dtype}: file {size / 1e6:.1f} MB, peak RSS {rss / 1e6:.1f} MB (file + {(rss - size) / 1e6:.1f} MB); "
                  f"its F32 decoding {os.path.getsize(decoded) / 1e6:.1f} MB, peak RSS {rss_f32 / 1e6:.1f} MB; "
                  f"durations identical: {same_durations}; max |Δaudio| {diff:.1e}")
            if not same_durations:
                failures.append(f"{dtype}: durations differ from the F32 decoding")
            if diff > 1e-6:
                failures.append(f"{dtype}: audio differs from the F32 decoding by {diff}")
            if rss > size + HEADROOM:
                failures.append(f"{dtype}: peak RSS {rss / 1e6:.1f} MB exceeds file + 200 MB")
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
