#!/usr/bin/env python3
"""The quantization ladder of a tritone model, one rung per line.

Rungs: the input (F32), then one format for every matrix (F16, Q8_0, Q4_K, Q2_K, TQ2_0, TQ1_0;
`tritone quantize --type`, calibrated GPTQ), then byte budgets (40, 30, 25 MB; `tritone quantize
--budget`). Per rung: file size; log-mel distance to the input model with its durations forced
(frames align) and the share of tokens whose duration moved, both from `tritone quantize
--report` (with round-to-nearest's beside GPTQ's for the fixed formats); Whisper tiny.en's word
error rate on tools/asr's held-out sentences (tools/asr/score.py, tritone's phonemizer); and the
real-time factor (`tritone bench`, median of 3).

Example (about two hours on 2 cores for the whole ladder):
  target/asrenv/bin/python tools/quant/ladder.py --tritone target/release/tritone \\
      --model target/real/kokoro-f32.gguf --whisper target/real/whisper-tiny.en \\
      --voice jf_alpha --out target/ladder
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCORE = os.path.join(HERE, "..", "asr", "score.py")
TYPES = ["f16", "q8_0", "q4_k", "q2_k", "tq2_0", "tq1_0"]
BUDGETS = ["40MB", "30MB", "25MB"]
# quantize_s in the table: the whole `tritone quantize` run that wrote the rung (shared by its kind)


def run(cmd):
    print("$", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


def wer(a, model, name):
    report = os.path.join(a.out, f"{name}.wer.json")
    # score.py exits 1 when the WER is above its threshold: that is a result here, not a failure
    out = subprocess.run([sys.executable, SCORE, "--tritone", a.tritone, "--model", model, "--voice", a.voice,
                          "--path", "text", "--whisper", a.whisper, "--report", report, "--max-wer", "1.0"]
                         + (["--limit", str(a.limit)] if a.limit else []), capture_output=True, text=True)
    if out.returncode == 2 or not os.path.exists(report):
        sys.exit(f"score.py failed on {model}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    with open(report) as f:
        doc = json.load(f)
    return next(iter(doc["results"].values()))["wer"]


def rtf(a, model):
    out = run([a.tritone, "bench", "--model", model, "--runs", "3", "--backend", "cpu", "--json"])
    return json.loads(out.stdout)["rtf"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tritone", required=True)
    p.add_argument("--model", required=True, help="the F32 tritone GGUF")
    p.add_argument("--whisper", required=True, help="Whisper tiny.en in CTranslate2 format")
    p.add_argument("--voice", default="jf_alpha", help="the voice Whisper hears")
    p.add_argument("--out", required=True, help="folder for the files and reports")
    p.add_argument("--types", default=",".join(TYPES))
    p.add_argument("--budgets", default=",".join(BUDGETS))
    p.add_argument("--sentences", type=int, default=64, help="calibration sentences (tritone quantize --sentences)")
    p.add_argument("--limit", type=int, help="WER on the first N held-out sentences only")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)

    rows = [{"rung": "F32 (input)", "bytes": os.path.getsize(a.model), "mel_db": 0.0, "moved": 0.0,
             "wer": wer(a, a.model, "f32"), "rtf": rtf(a, a.model)}]
    # One calibration for all the fixed formats, one calibration and sensitivity sweep for all budgets.
    for kind, values in (("type", a.types), ("budget", a.budgets)):
        if not values:
            continue
        report = os.path.join(a.out, f"{kind}s.json")
        t0 = time.perf_counter()
        run([a.tritone, "quantize", "--in", a.model, "--out", os.path.join(a.out, f"{kind}-{{{kind}}}.gguf"),
             f"--{kind}", values, "--sentences", str(a.sentences), "--report", report])
        seconds = time.perf_counter() - t0
        with open(report) as f:
            doc = json.load(f)
        for part in doc[f"{kind}s"]:
            d = part["distortion"]
            gptq = d.get("gptq") or d["round-to-nearest"]
            near = d.get("round-to-nearest") if "gptq" in d else None
            row = {"rung": part["type"] if kind == "type" else f"budget {part['budget']}", "bytes": part["output_bytes"],
                   "mel_db": gptq["mel_db"], "moved": gptq["durations_moved"],
                   "mel_db_nearest": near and near["mel_db"], "moved_nearest": near and near["durations_moved"],
                   "quantize_s": seconds, "plan": part.get("plan"),
                   "wer": wer(a, part["output"], os.path.basename(part["output"])[:-5]), "rtf": rtf(a, part["output"])}
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(os.path.join(a.out, "ladder.json"), "w") as f:
                json.dump(rows, f, indent=1)

    print("\n| rung | MB | log-mel dB (GPTQ / nearest) | durations moved (GPTQ / nearest) | WER | RTF | quantize s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        near = f" / {r['mel_db_nearest']:.2f}" if r.get("mel_db_nearest") is not None else ""
        moved_near = f" / {100 * r['moved_nearest']:.1f} %" if r.get("moved_nearest") is not None else ""
        q = f"{r['quantize_s']:.0f}" if "quantize_s" in r else ""
        print(f"| {r['rung']} | {r['bytes'] / 1e6:.1f} | {r['mel_db']:.2f}{near} | {100 * r['moved']:.1f} %{moved_near} "
              f"| {100 * r['wer']:.1f} % | {r['rtf']:.2f} | {q} |")


if __name__ == "__main__":
    main()
