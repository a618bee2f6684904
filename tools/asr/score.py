#!/usr/bin/env python3
"""Speech intelligibility of a tritone model: synthesize English sentences, transcribe them
with Whisper, and report the word error rate per voice and input path.

Paths:
  text    `tritone say --lang en-us --seed 0 --voice V TEXT` (tritone's own phonemizer)
  misaki  misaki 0.9.4 (spaCy's real en_core_web_sm tagger, en-US) phonemes ->
          `tritone say --seed 0 --voice V --phonemes P` (what Kokoro itself would feed the model)

WER = total word errors / total reference words per voice x path, on OpenAI's English
normalizer's output (see asrlib.normalize_words). Exit status: 0 when every voice x path is at
or below --max-wer, 1 when one is above, 2 on a usage error or a failed synthesis.

Example:
  target/asrenv/bin/python tools/asr/score.py --tritone target/debug/tritone \
      --model target/real/kokoro-f32.gguf --voice jf_alpha --voice jm_kumo --path both \
      --whisper target/real/whisper-tiny.en --jobs 2 --report target/asr/f32.json
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asrlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tritone", required=True, help="the tritone binary")
    p.add_argument("--model", required=True, help="the model GGUF")
    p.add_argument("--say-arg", action="append", default=[], help="an extra argument for `tritone say`, e.g. --say-arg=--int8 (repeatable)")
    p.add_argument("--voice", action="append", required=True, help="a voice (repeat for more)")
    p.add_argument("--path", choices=("text", "misaki", "both"), default="both")
    p.add_argument("--whisper", required=True, help="Whisper model folder in CTranslate2 format (faster-whisper)")
    p.add_argument("--jobs", type=int, default=2, help="syntheses run in parallel (default 2)")
    p.add_argument("--asr-threads", type=int, default=0, help="CTranslate2 threads for Whisper (default: all cores)")
    p.add_argument("--report", help="write the JSON report here")
    p.add_argument("--max-wer", type=float, default=0.06, help="fail when any voice x path WER is above this (default 0.06)")
    p.add_argument("--sentences", default=os.path.join(HERE, "sentences.tsv"))
    p.add_argument("--limit", type=int, help="only the first N sentences")
    p.add_argument("--seed", type=int, default=0, help="tritone's vocoder noise seed (default 0)")
    p.add_argument("--keep-wavs", metavar="DIR", help="keep the WAVs here (default: a temporary folder, removed)")
    a = p.parse_args(argv)
    if a.jobs < 1:
        p.error("--jobs must be at least 1")
    if a.limit is not None and a.limit < 1:
        p.error("--limit must be at least 1")
    if not os.path.isfile(a.model):
        p.error(f"--model: no such file: {a.model}")
    if not os.path.isdir(a.whisper):
        p.error(f"--whisper: no such folder: {a.whisper}")
    return a


def main(argv=None):
    a = parse_args(argv)
    t_start = time.perf_counter()
    try:
        tritone = asrlib.Tritone(a.tritone, a.say_arg)
        sentences = asrlib.load_sentences(a.sentences, a.limit)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    paths = ["text", "misaki"] if a.path == "both" else [a.path]
    voices = list(dict.fromkeys(a.voice))

    try:
        vocab, model_voices = tritone.model_info(a.model)
    except (RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if model_voices is not None:
        missing = [v for v in voices if v not in model_voices]
        if missing:
            print(f"error: voice(s) {', '.join(missing)} not in the model; it has: {', '.join(model_voices)}", file=sys.stderr)
            return 2

    # misaki's phonemes, once per sentence (the same for every voice)
    phonemes, dropped, t_g2p = {}, {}, 0.0
    if "misaki" in paths:
        t = time.perf_counter()
        g2p = asrlib.Misaki()
        for i, s in enumerate(sentences):
            ps, drop = asrlib.keep_in_vocab(g2p(s.text), vocab)
            phonemes[i], dropped[i] = ps, drop
        t_g2p = time.perf_counter() - t
        print(f"misaki: {len(sentences)} sentences phonemized in {t_g2p:.1f} s (spaCy en_core_web_sm tagger)")

    workdir = a.keep_wavs or tempfile.mkdtemp(prefix="tritone-asr-")
    os.makedirs(workdir, exist_ok=True)

    # Where misaki's phonemes equal tritone's own, `say --phonemes` gives exactly the audio of
    # `say TEXT` (same phonemes, same seed): the misaki path reuses the text path's WAV and
    # transcript instead of synthesizing it again.
    same_as_text = set()
    if paths == ["text", "misaki"]:
        same_as_text = {i for i, s in enumerate(sentences) if phonemes[i] and tritone.phonemize(s.text) == phonemes[i]}
        print(f"misaki and tritone phonemize {len(same_as_text)} of {len(sentences)} sentences identically: "
              f"those are synthesized once")

    jobs = []  # (voice, path, sentence index, wav)
    for v in voices:
        for pth in paths:
            for i in range(len(sentences)):
                path_of_wav = "text" if pth == "misaki" and i in same_as_text else pth
                jobs.append((v, pth, i, os.path.join(workdir, f"{v}.{path_of_wav}.{i:03d}.wav")))

    def synth(job):
        v, pth, i, wav = job
        s = sentences[i]
        if pth == "misaki" and i in same_as_text:
            return asrlib.SayResult(True, 0.0)  # the text path's WAV
        if pth == "text":
            return tritone.say(a.model, v, wav, text=s.text, seed=a.seed)
        if not phonemes[i]:
            return asrlib.SayResult(False, 0.0, error="misaki produced no phonemes")
        return tritone.say(a.model, v, wav, phonemes=phonemes[i], seed=a.seed)

    print(f"synthesizing {len(jobs) - len(same_as_text) * len(voices)} utterances ({len(voices)} voice(s) x {len(paths)} path(s) x "
          f"{len(sentences)} sentences), {a.jobs} in parallel ...", flush=True)
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        # Text-path jobs first: a reused WAV exists before anything reads it (reading waits for all).
        results = list(pool.map(synth, jobs))
    t_synth_wall = time.perf_counter() - t
    t_synth_cpu = sum(r.seconds for r in results)
    failures = [(j, r) for j, r in zip(jobs, results) if not r.ok]
    for (v, pth, i, _), r in failures:
        print(f"synthesis FAILED [{v}/{pth}] #{i + 1} {sentences[i].text!r}: {r.error}", file=sys.stderr)

    audio_seconds = 0.0
    for (_, _, _, wav), r in zip(jobs, results):
        if r.ok:
            x, rate = asrlib.read_wav(wav)
            r.extra["audio_seconds"] = len(x) / rate
            audio_seconds += len(x) / rate

    print(f"transcribing with faster-whisper ({a.whisper}) ...", flush=True)
    asr = asrlib.Asr(a.whisper, threads=a.asr_threads)
    hyps, heard = [], {}
    for (_, _, _, wav), r in zip(jobs, results):
        if r.ok and wav not in heard:
            heard[wav] = asr.transcribe(wav)
        hyps.append(heard[wav] if r.ok else "")

    totals = {(v, pth): asrlib.WerTotals() for v in voices for pth in paths}
    rows = {(v, pth): [] for v in voices for pth in paths}
    for (v, pth, i, wav), r, hyp in zip(jobs, results, hyps):
        s = sentences[i]
        ref_w, hyp_w = asrlib.normalize_words(s.reference), asrlib.normalize_words(hyp)
        c = asrlib.wer_counts(ref_w, hyp_w)
        totals[(v, pth)].add(c)
        row = {
            "index": i + 1,
            "category": s.category,
            "text": s.text,
            "reference": s.reference,
            "hypothesis": hyp,
            "reference_normalized": " ".join(ref_w),
            "hypothesis_normalized": " ".join(hyp_w),
            "errors": c["errors"],
            "sub": c["sub"],
            "del": c["dele"],
            "ins": c["ins"],
            "words": c["words"],
            "synthesis_seconds": round(r.seconds, 3),
            "audio_seconds": round(r.extra.get("audio_seconds", 0.0), 3),
        }
        if pth == "misaki":
            row["phonemes"] = phonemes[i]
            row["same_phonemes_as_text_path"] = i in same_as_text
            if dropped[i]:
                row["phonemes_dropped"] = dropped[i]
        if not r.ok:
            row["synthesis_error"] = r.error
        rows[(v, pth)].append(row)

    # ---- the table
    print()
    print(f"model {a.model}, {len(sentences)} sentences from {a.sentences}, max WER {a.max_wer:.1%}")
    print(f"{'voice':<16} {'path':<7} {'words':>6} {'errors':>6} {'S/D/I':>9} {'WER':>7} {'wrong sent.':>11}  verdict")
    worst = 0.0
    for v in voices:
        for pth in paths:
            t_ = totals[(v, pth)]
            worst = max(worst, t_.wer)
            verdict = "ok" if t_.wer <= a.max_wer else "ABOVE MAX"
            sdi = f"{t_.sub}/{t_.dele}/{t_.ins}"
            print(f"{v:<16} {pth:<7} {t_.words:>6} {t_.errors:>6} {sdi:>9} {t_.wer:>7.2%} "
                  f"{t_.sentences_wrong:>5}/{t_.sentences:<5}  {verdict}")

    # ---- every misheard sentence
    wrong = [(v, pth, row) for v in voices for pth in paths for row in rows[(v, pth)] if row["errors"]]
    if wrong:
        print(f"\nmisheard sentences ({len(wrong)}):")
        for v, pth, row in wrong:
            print(f"[{v}/{pth}] #{row['index']} {row['category']}: {row['errors']} error(s) of {row['words']}")
            print(f"    text: {row['text']}")
            print(f"    ref : {row['reference_normalized']}")
            print(f"    hyp : {row['hypothesis_normalized']}")
            if "synthesis_error" in row:
                print(f"    synthesis error: {row['synthesis_error'].splitlines()[-1]}")
            elif pth == "misaki":
                print(f"    phonemes: {row['phonemes']}")
    else:
        print("\nno misheard sentences")

    total = time.perf_counter() - t_start
    print(f"\ntimings: synthesis {t_synth_wall:.1f} s wall ({t_synth_cpu:.1f} s summed over {len(jobs)} runs, "
          f"{audio_seconds:.1f} s of audio, {a.jobs} jobs); ASR {asr.seconds:.1f} s "
          f"(+{asr.load_seconds:.1f} s model load); misaki {t_g2p:.1f} s; total {total:.1f} s")

    failed_over = worst > a.max_wer
    status = 2 if failures else (1 if failed_over else 0)
    report = {
        "model": os.path.abspath(a.model),
        "tritone": tritone.binary,
        "whisper": os.path.abspath(a.whisper),
        "sentences_file": os.path.abspath(a.sentences),
        "sentences": len(sentences),
        "voices": voices,
        "paths": paths,
        "seed": a.seed,
        "max_wer": a.max_wer,
        "pass": status == 0,
        "exit_status": status,
        "synthesis_failures": len(failures),
        "results": {
            f"{v}/{pth}": {"voice": v, "path": pth, **totals[(v, pth)].as_dict(), "sentences_detail": rows[(v, pth)]}
            for v in voices for pth in paths
        },
        "timing": {
            "synthesis_wall_seconds": round(t_synth_wall, 3),
            "synthesis_summed_seconds": round(t_synth_cpu, 3),
            "audio_seconds": round(audio_seconds, 3),
            "asr_seconds": round(asr.seconds, 3),
            "asr_load_seconds": round(asr.load_seconds, 3),
            "misaki_seconds": round(t_g2p, 3),
            "total_seconds": round(total, 3),
            "jobs": a.jobs,
        },
    }
    if a.report:
        os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
        with open(a.report, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=1)
        print(f"report: {a.report}")
    if not a.keep_wavs:
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print(f"FAIL: {len(failures)} synthesis failure(s)", file=sys.stderr)
    elif failed_over:
        print(f"FAIL: WER above {a.max_wer:.1%}", file=sys.stderr)
    else:
        print(f"PASS: every voice x path WER <= {a.max_wer:.1%}")
    return status


if __name__ == "__main__":
    sys.exit(main())
