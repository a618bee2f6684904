#!/usr/bin/env python3
"""Independent check of the ONNX importer: onnxruntime on kokoro-onnx's original int8 export vs
`tritone say` on the GGUF converted from it, sentence by sentence.

For each sentence (phonemes from misaki with spaCy's real tagger, or from `tritone phonemize`,
filtered to the vocabulary as Kokoro does):
  - onnxruntime runs the ONNX (tokens from vocab.json with pad 0 at both ends, style = voice pack
    row len(phonemes) - 1, speed 1). Its graph outputs only audio, so Kokoro's per-token
    durations, pred_dur = round(clamp(sigmoid(duration_proj(x)).sum(-1) / speed, min=1)), are
    added as extra graph outputs in memory: the chain Sigmoid(duration_proj) -> ReduceSum ->
    Div(speed) -> Round -> Clip -> Cast is located, and its Cast (int64, one per token, pads
    included) and Div (the unrounded value) outputs exposed.
  - Two references, by default both (--reference):
      int8   the file as it is: onnxruntime quantizes every activation to uint8 at run time;
      float  the same graph with activation quantization removed (ort_float.py): exactly the
             int8 weights times their scales, computed in float - what a GGUF converted from
             the file must reproduce.
  - tritone runs `say --phonemes P --seed 0 --dump DIR` (durations.npy, audio.npy).
  (a) durations per token: against float they must be identical (a 1-frame difference is
      tolerated only where float's unrounded value is within --float-margin of x.5). Against
      int8 a few tokens differ by design (int8 activations move the unrounded value by ~0.1
      frame, sometimes more where the duration logits are uncertain); these are counted and
      shown with both unrounded values. With --reference int8 alone: fail when more than
      --max-dur-frac of the tokens differ, or one differs by 1 frame away from x.5
      (--boundary-margin), or by more.
  (b) transcripts: every audio is peak-normalized (ORT's iSTFT skips the window normalization,
      so its audio is ~1.5x louder) and transcribed by Whisper; differing transcripts are
      printed, and the check fails when tritone's transcripts have more word errors against
      the sentences than the main reference's (float if run, else int8) plus --wer-slack (2:
      Whisper tiny hears one borderline word differently after a 1e-6 change; garbled speech
      costs dozens); --strict-transcripts
      fails on any difference from int8's transcripts.
  (c) lengths: every audio must be 600 samples per frame (Kokoro-82M: iSTFT hop 5 x upsampling
      10 x 6 x 2 at 24 kHz).
  Also shown: log-mel distance (dB, gain-matched) between tritone and each reference where the
  durations are equal. ORT has no noise source (tritone adds the SineGen noise), so it is not 0.

Exit status: 0 when all of that holds, 1 on a mismatch, 2 on a usage error or a failed run.

Example:
  target/asrenv/bin/python tools/asr/ort_check.py --tritone target/debug/tritone \
      --model target/real/kokoro-f32.gguf --voice jf_alpha --limit 6 --whisper target/real/whisper-tiny.en
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asrlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES_PER_FRAME = 600


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tritone", required=True, help="the tritone binary")
    p.add_argument("--model", required=True, help="the GGUF converted from the ONNX")
    p.add_argument("--onnx", default="target/real/kokoro-v1.0.int8.onnx")
    p.add_argument("--voices", default="target/real/voices_ja.npz", help="npz of voice packs [510, 1, 256]")
    p.add_argument("--vocab", default="target/real/vocab.json")
    p.add_argument("--voice", action="append", help="voice(s) to check (default jf_alpha)")
    p.add_argument("--whisper", required=True, help="Whisper model folder in CTranslate2 format")
    p.add_argument("--phonemes-from", choices=("misaki", "tritone"), default="misaki")
    p.add_argument("--reference", choices=("both", "int8", "float"), default="both")
    p.add_argument("--sentences", default=os.path.join(HERE, "sentences.tsv"))
    p.add_argument("--limit", type=int, default=6, help="first N sentences (default 6)")
    p.add_argument("--jobs", type=int, default=2, help="tritone runs in parallel (default 2)")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime / Whisper threads (default: all cores)")
    p.add_argument("--float-margin", type=float, default=0.02,
                   help="vs float: a 1-frame difference is tolerated where the unrounded value is within this of x.5 "
                        "(f32 summation order; default 0.02)")
    p.add_argument("--max-dur-frac", type=float, default=0.05,
                   help="int8-only mode: fail when more than this fraction of tokens differ (default 0.05)")
    p.add_argument("--boundary-margin", type=float, default=0.25,
                   help="int8-only mode: a 1-frame difference is explained when int8's unrounded value is within this "
                        "of x.5 (default 0.25)")
    p.add_argument("--wer-slack", type=int, default=2,
                   help="word errors tritone may have beyond the main reference's (default 2: one word heard as "
                        "two, as 'repairs' became 'repair is' when f32 summation order changed by 1e-6)")
    p.add_argument("--strict-transcripts", action="store_true",
                   help="fail when tritone's transcripts differ from int8's at all")
    p.add_argument("--report", help="write a JSON report here")
    p.add_argument("--keep", metavar="DIR", help="keep the WAVs and dumps here")
    a = p.parse_args(argv)
    a.voice = list(dict.fromkeys(a.voice or ["jf_alpha"]))
    for f in (a.model, a.onnx, a.voices, a.vocab):
        if not os.path.isfile(f):
            p.error(f"no such file: {f}")
    if not os.path.isdir(a.whisper):
        p.error(f"--whisper: no such folder: {a.whisper}")
    if a.jobs < 1 or a.limit < 1:
        p.error("--jobs and --limit must be at least 1")
    return a


def find_duration_output(model):
    """Kokoro's duration chain Sigmoid(…duration_proj…) -> ReduceSum -> Div(speed) -> Round ->
    Clip(min 1) -> Cast. Returns (int64 per-token durations, float unrounded durations (the Div
    output), [node names along the chain])."""
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def only(name, op):
        cs = [n for n in consumers.get(name, []) if n.op_type == op]
        return cs[0] if len(cs) == 1 else None

    for sig in g.node:
        if sig.op_type != "Sigmoid":
            continue
        src = producer.get(sig.input[0])
        if src is None or "duration_proj" not in src.name:
            continue
        chain = [sig]
        for op in ("ReduceSum", "Div", "Round", "Clip", "Cast"):
            nxt = only(chain[-1].output[0], op)
            if nxt is None:
                break
            chain.append(nxt)
        else:
            if "speed" not in chain[2].input:
                continue
            return chain[-1].output[0], chain[2].output[0], [n.name for n in chain]
    raise RuntimeError("duration chain Sigmoid(duration_proj) -> ReduceSum -> Div -> Round -> Clip -> Cast not found")


class OrtKokoro:
    """onnxruntime on the Kokoro ONNX with the durations exposed; kind 'int8' (as the file is) or
    'float' (activation quantization removed, ort_float.dequantized_model)."""

    def __init__(self, model, kind, threads):
        import onnx
        import onnxruntime as ort

        if kind == "float":
            import ort_float

            model = ort_float.dequantized_model(model)
        else:
            m = onnx.ModelProto()
            m.CopyFrom(model)
            model = m
        self.dur_name, self.raw_name, self.chain = find_duration_output(model)
        model.graph.output.append(onnx.helper.make_tensor_value_info(self.dur_name, onnx.TensorProto.INT64, None))
        model.graph.output.append(onnx.helper.make_tensor_value_info(self.raw_name, onnx.TensorProto.FLOAT, None))
        used = {i for n in model.graph.node for i in n.input}
        keep = [i for i in model.graph.initializer if i.name in used]
        del model.graph.initializer[:]
        model.graph.initializer.extend(keep)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self.seconds = 0.0

    def __call__(self, tokens, style):
        t = time.perf_counter()
        audio, dur, raw = self.sess.run(["audio", self.dur_name, self.raw_name],
                                        {"tokens": tokens, "style": style, "speed": np.array([1.0], np.float32)})
        self.seconds += time.perf_counter() - t
        return audio.reshape(-1), dur.reshape(-1).astype(np.int64), raw.reshape(-1)


_MEL = {}


def log_mel(x, sr=asrlib.SAMPLE_RATE, n_fft=1024, hop=256, n_mels=80):
    """log10 mel magnitude (dB) with a Hann window; HTK mel scale, 0 to sr/2."""
    if n_fft not in _MEL:
        def hz2mel(f):
            return 2595 * np.log10(1 + f / 700)

        mels = np.linspace(0, hz2mel(sr / 2), n_mels + 2)
        hz = 700 * (10 ** (mels / 2595) - 1)
        bins = np.fft.rfftfreq(n_fft, 1 / sr)
        fb = np.zeros((n_mels, bins.size))
        for m in range(n_mels):
            lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
            fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
        _MEL[n_fft] = fb
    x = np.asarray(x, np.float64)
    n = 1 + max(0, (len(x) - n_fft) // hop)
    frames = np.stack([x[i * hop:i * hop + n_fft] for i in range(n)]) * np.hanning(n_fft)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    return 20 * np.log10(np.maximum(_MEL[n_fft] @ mag.T, 1e-5))


def log_mel_l1(a, b):
    """Mean |log-mel difference| in dB after removing the overall gain difference (median offset);
    both clamped to 80 dB below their peak."""
    n = min(len(a), len(b))
    ma, mb = log_mel(a[:n]), log_mel(b[:n])
    ma = np.maximum(ma, ma.max() - 80)
    mb = np.maximum(mb, mb.max() - 80)
    mb = mb + np.median(ma - mb)
    return float(np.mean(np.abs(ma - mb)))


def main(argv=None):
    a = parse_args(argv)
    t0 = time.perf_counter()
    try:
        tritone = asrlib.Tritone(a.tritone)
        sentences = asrlib.load_sentences(a.sentences, a.limit)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with open(a.vocab, encoding="utf-8") as f:
        vocab = json.load(f)
    vocab = vocab.get("vocab", vocab)
    packs = np.load(a.voices)
    missing = [v for v in a.voice if v not in packs.files]
    if missing:
        print(f"error: voice(s) {', '.join(missing)} not in {a.voices}; it has {', '.join(packs.files)}", file=sys.stderr)
        return 2
    refs = ["int8", "float"] if a.reference == "both" else [a.reference]
    main_ref = "float" if "float" in refs else "int8"

    # phonemes, filtered to the vocabulary as Kokoro does
    t = time.perf_counter()
    g2p = asrlib.Misaki() if a.phonemes_from == "misaki" else None
    phonemes, dropped = [], []
    for s in sentences:
        ps, drop = asrlib.keep_in_vocab(g2p(s.text) if g2p else tritone.phonemize(s.text), set(vocab))
        phonemes.append(ps)
        dropped.append(drop)
    t_g2p = time.perf_counter() - t

    workdir = a.keep or tempfile.mkdtemp(prefix="tritone-ortcheck-")
    os.makedirs(workdir, exist_ok=True)
    cases = [(v, i) for v in a.voice for i in range(len(sentences))]

    # tritone, in parallel (single-threaded processes)
    def run_tritone(case):
        v, i = case
        d = os.path.join(workdir, f"{v}.{i:03d}.tritone")
        os.makedirs(d, exist_ok=True)
        return tritone.say(a.model, v, os.path.join(d, "audio.wav"), phonemes=phonemes[i], seed=0, dump=d)

    print(f"tritone: {len(cases)} syntheses, {a.jobs} in parallel ...", flush=True)
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        tri_runs = list(pool.map(run_tritone, cases))
    t_tritone = time.perf_counter() - t
    bad = [(c, r) for c, r in zip(cases, tri_runs) if not r.ok]
    for (v, i), r in bad:
        print(f"tritone FAILED [{v}] #{i + 1}: {r.error}", file=sys.stderr)
    if bad:
        return 2
    tri = {}
    for v, i in cases:
        d = os.path.join(workdir, f"{v}.{i:03d}.tritone")
        tri[(v, i)] = (np.load(os.path.join(d, "durations.npy")).astype(np.int64).reshape(-1),
                       np.load(os.path.join(d, "audio.npy")).astype(np.float32).reshape(-1))

    # onnxruntime, one run at a time (it uses every core itself)
    import onnx

    t = time.perf_counter()
    onnx_model = onnx.load(a.onnx)
    engines = {k: OrtKokoro(onnx_model, k, a.threads) for k in refs}
    del onnx_model
    t_ort_load = time.perf_counter() - t
    e0 = engines[refs[0]]
    print(f"onnxruntime: durations exposed from {e0.dur_name!r} (unrounded: {e0.raw_name!r}; "
          f"{' -> '.join(e0.chain)}); references: {', '.join(refs)}", flush=True)
    ort = {}
    for v, i in cases:
        ps = phonemes[i]
        tokens = np.array([[0] + [vocab[c] for c in ps] + [0]], dtype=np.int64)
        style = packs[v][len(ps) - 1].reshape(1, -1).astype(np.float32)
        for k in refs:
            ort[(k, v, i)] = engines[k](tokens, style)

    # transcripts
    asr = asrlib.Asr(a.whisper, threads=a.threads)

    def transcribe(name, audio):
        wav = os.path.join(workdir, f"{name}.wav")
        asrlib.write_wav(wav, asrlib.peak_normalize(audio))
        hyp = asr.transcribe(wav)
        return hyp, asrlib.normalize_words(hyp)

    totals = {k: asrlib.WerTotals() for k in ["tritone"] + refs}
    rows = []
    n_tokens = 0
    diff_tokens = {k: 0 for k in refs}
    bad_tokens = {k: 0 for k in refs}
    length_problems = []
    transcript_diffs = {k: 0 for k in refs}
    for v, i in cases:
        n_tok = len(phonemes[i]) + 2
        n_tokens += n_tok
        t_dur, t_audio = tri[(v, i)]
        ref_w = asrlib.normalize_words(sentences[i].reference)
        hyp, t_words = transcribe(f"{v}.{i:03d}.tritone", t_audio)
        totals["tritone"].add(asrlib.wer_counts(ref_w, t_words))
        row = {"voice": v, "index": i + 1, "text": sentences[i].text, "phonemes": phonemes[i], "tokens": n_tok,
               "tritone": {"frames": int(t_dur.sum()), "samples": int(t_audio.size), "durations_len": int(t_dur.size),
                           "peak": float(np.abs(t_audio).max()), "transcript": hyp, "normalized": " ".join(t_words)}}
        if dropped[i]:
            row["phonemes_dropped"] = dropped[i]
        if t_dur.size != n_tok:
            length_problems.append(f"[{v}] #{i + 1}: tritone has {t_dur.size} durations for {n_tok} tokens")
        if t_audio.size != SAMPLES_PER_FRAME * t_dur.sum():
            length_problems.append(f"[{v}] #{i + 1}: tritone {t_audio.size} samples != 600 x {t_dur.sum()} frames")
        for k in refs:
            o_audio, o_dur, o_raw = ort[(k, v, i)]
            hyp_k, words_k = transcribe(f"{v}.{i:03d}.{k}", o_audio)
            totals[k].add(asrlib.wer_counts(ref_w, words_k))
            between = asrlib.wer_counts(words_k, t_words)["errors"]
            transcript_diffs[k] += between
            info = {"frames": int(o_dur.sum()), "samples": int(o_audio.size), "durations_len": int(o_dur.size),
                    "peak": float(np.abs(o_audio).max()), "transcript": hyp_k, "normalized": " ".join(words_k),
                    "transcript_word_differences": between, "differing_tokens": []}
            if o_dur.size != n_tok:
                length_problems.append(f"[{v}] #{i + 1}: {k} has {o_dur.size} durations for {n_tok} tokens")
            if o_audio.size != SAMPLES_PER_FRAME * o_dur.sum():
                length_problems.append(f"[{v}] #{i + 1}: {k} {o_audio.size} samples != 600 x {o_dur.sum()} frames")
            if o_dur.size == t_dur.size:
                margin = np.abs(o_raw - np.floor(o_raw) - 0.5)
                for j in np.flatnonzero(o_dur != t_dur):
                    step = abs(int(o_dur[j]) - int(t_dur[j]))
                    if k == "float":
                        ok = step == 1 and margin[j] < a.float_margin
                    elif main_ref == "int8":
                        ok = step == 1 and margin[j] < a.boundary_margin
                    else:
                        ok = True  # judged against float
                    bad_tokens[k] += not ok
                    entry = {"token": int(j), "symbol": "<pad>" if j in (0, n_tok - 1) else phonemes[i][j - 1],
                             k: int(o_dur[j]), "tritone": int(t_dur[j]), f"{k}_unrounded": round(float(o_raw[j]), 4),
                             "tolerated": bool(ok)}
                    if k == "int8" and "float" in refs:
                        entry["float_unrounded"] = round(float(ort[("float", v, i)][2][j]), 4)
                    info["differing_tokens"].append(entry)
                diff_tokens[k] += len(info["differing_tokens"])
                if not info["differing_tokens"]:
                    info["log_mel_l1_db"] = round(log_mel_l1(o_audio, t_audio), 3)
            else:
                diff_tokens[k] += n_tok
                bad_tokens[k] += n_tok
            row[k] = info
        rows.append(row)

    # ---- print
    print()
    head = f"{'voice':<12} {'#':>3} {'tokens':>6} {'frames tri':>10}"
    for k in refs:
        head += f" | {k + ' frames':>12} {'tokens differ':>13} {'log-mel dB':>10}"
    print(head + " | transcripts")
    for row in rows:
        line = f"{row['voice']:<12} {row['index']:>3} {row['tokens']:>6} {row['tritone']['frames']:>10}"
        same = []
        for k in refs:
            r = row[k]
            lm = r.get("log_mel_l1_db")
            line += f" | {r['frames']:>12} {len(r['differing_tokens']):>13} {'-' if lm is None else f'{lm:.2f}':>10}"
            same.append(f"{k}: {'same' if r['transcript_word_differences'] == 0 else str(r['transcript_word_differences']) + ' word(s) differ'}")
        print(line + " | " + ", ".join(same))
    print(f"\naudio lengths: {'all 600 samples per frame' if not length_problems else 'PROBLEMS'}; "
          f"peaks tritone {np.mean([r['tritone']['peak'] for r in rows]):.2f}"
          + "".join(f", {k} {np.mean([r[k]['peak'] for r in rows]):.2f}" for k in refs) + " (mean)")
    for msg in length_problems:
        print("  " + msg)
    shown = 0
    for row in rows:
        for k in refs:
            for dt in row[k]["differing_tokens"]:
                shown += 1
                if shown > 40:
                    continue
                extra = f", float {dt['float_unrounded']:.3f}" if "float_unrounded" in dt else ""
                print(f"[{row['voice']}] #{row['index']} token {dt['token']} {dt['symbol']!r}: {k} {dt[k]} vs tritone "
                      f"{dt['tritone']} frames ({k} unrounded {dt[k + '_unrounded']:.3f}{extra})"
                      f"{'' if dt['tolerated'] else '  <- MISMATCH'}")
    if shown > 40:
        print(f"... {shown - 40} more differing tokens in the JSON report")
    for row in rows:
        for k in refs:
            if row[k]["transcript_word_differences"]:
                print(f"[{row['voice']}] #{row['index']} transcripts differ:\n    {k:<7}: {row[k]['normalized']}\n"
                      f"    tritone: {row['tritone']['normalized']}")
    print()
    for k in refs:
        frac = diff_tokens[k] / n_tokens if n_tokens else 0.0
        print(f"durations vs {k}: {diff_tokens[k]} of {n_tokens} tokens differ ({frac:.2%}), {bad_tokens[k]} not tolerated")
    print("WER vs the sentences: " + ", ".join(
        f"{k} {totals[k].wer:.2%} ({totals[k].errors}/{totals[k].words})" for k in ["tritone"] + refs))
    total = time.perf_counter() - t0
    print(f"timings: phonemes ({a.phonemes_from}) {t_g2p:.1f} s; tritone {t_tritone:.1f} s wall ({a.jobs} jobs); "
          + "; ".join(f"onnxruntime {k} {engines[k].seconds:.1f} s" for k in refs)
          + f" (+{t_ort_load:.1f} s load); ASR {asr.seconds:.1f} s (+{asr.load_seconds:.1f} s load); total {total:.1f} s")

    problems = list(length_problems)
    if main_ref == "int8":
        frac = diff_tokens["int8"] / n_tokens if n_tokens else 0.0
        if frac > a.max_dur_frac:
            problems.append(f"{frac:.2%} of token durations differ from int8 (> {a.max_dur_frac:.2%})")
    if bad_tokens[main_ref]:
        problems.append(f"{bad_tokens[main_ref]} token duration(s) differ from {main_ref} beyond the tolerance")
    if totals["tritone"].errors > totals[main_ref].errors + a.wer_slack:
        problems.append(f"tritone's transcripts have more word errors than {main_ref}'s "
                        f"({totals['tritone'].errors} vs {totals[main_ref].errors}, slack {a.wer_slack})")
    if a.strict_transcripts and "int8" in refs and transcript_diffs["int8"]:
        problems.append(f"transcripts differ from int8's by {transcript_diffs['int8']} word(s)")
    status = 1 if problems else 0
    if a.report:
        os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
        with open(a.report, "w", encoding="utf-8") as f:
            json.dump({
                "model": os.path.abspath(a.model), "onnx": os.path.abspath(a.onnx), "voices": a.voice,
                "phonemes_from": a.phonemes_from, "references": refs, "main_reference": main_ref,
                "duration_tensor": e0.dur_name, "unrounded_tensor": e0.raw_name, "duration_chain": e0.chain,
                "tokens": n_tokens, "tokens_differing": diff_tokens, "tokens_not_tolerated": bad_tokens,
                "transcript_word_differences": transcript_diffs,
                "wer": {k: v.as_dict() for k, v in totals.items()},
                "problems": problems, "pass": status == 0, "sentences": rows,
                "timing": {"phonemes": t_g2p, "tritone_wall": t_tritone, "ort_load": t_ort_load,
                           **{f"ort_{k}": engines[k].seconds for k in refs},
                           "asr": asr.seconds, "asr_load": asr.load_seconds, "total": total},
            }, f, ensure_ascii=False, indent=1)
        print(f"report: {a.report}")
    if not a.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
    else:
        print(f"PASS: durations equal to {main_ref}'s (within the tolerance), lengths right, "
              f"tritone's word errors within {a.wer_slack} of {main_ref}'s")
    return status


if __name__ == "__main__":
    sys.exit(main())
