#!/usr/bin/env python3
"""
Faithfulness of `tritone say` to the OFFICIAL PyTorch Kokoro (kokoro==0.9.4) on the weights of a
tritone GGUF (the real Kokoro-82M, or golden.py's seeded random ones).

Both sides get the same weights (the GGUF, loaded into KModel by gguf_kmodel.py through the real
checkpoint path), the same voice pack (`voices.<name>`, row len(phonemes)-1), the same phonemes and
the same vocoder noise (golden.py's portable PRNG, which `tritone say --seed N` reproduces exactly).
For every sentence x voice it runs

  * PyTorch, 1 thread (the reference), 2 threads (how much PyTorch differs from itself) and, with
    --other-seed, 1 thread with noise seed+1 (how much a different noise changes);
  * `tritone say --model GGUF --voice V --phonemes P --seed N --dump DIR --out DIR/tritone.wav`
    (DIR/durations.npy int64 frames per token incl. the boundary tokens, DIR/audio.npy f32);
    by default in a background thread while PyTorch runs (--sequential: one after the other),

and reports: durations identical (number of differing tokens), the log-mel distance between the
audios (`log_mel_distance`, the definition of tests/reference_small.rs, in its natural-log units
and in dB = x 10/ln 10), the same distance for PyTorch 1 vs 2 threads (and another seed), the
relative RMS of the waveform difference, the rounding margin of the durations, and timings.
Exit status 1 if any durations differ, any audio is not finite, or any distance exceeds
--max-l1-db (default 0.1 dB).

  target/refenv/bin/python tools/reference/faithful.py --model target/real/kokoro-f32.gguf \
      [--voices jf_alpha,jm_kumo] [--seed 0] [--tritone target/debug/tritone] [--out target/faithful]
  (--phonemes P, repeatable, replaces the 4 built-in sentences; --json FILE; --other-seed;
   --sequential; --max-l1-db X; --say-arg=--int8 passes an argument on to `tritone say`)
"""
import argparse, json, math, os, re, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_kmodel  # noqa: E402  (imports golden: shims, torch, kokoro)
import golden  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))

# English sentences in misaki's US phonemes (from `tritone phonemize`, which equals misaki on these;
# the third is golden.py's `medium` case, misaki's own output).
SENTENCES = [
    # The quick brown fox jumps over the lazy dog.
    'ðə kwˈɪk bɹˈWn fˈɑks ʤˈʌmps ˈOvəɹ ðə lˈAzi dˈɔɡ.',
    # How are you doing today? I hope the weather is nice where you are.
    'hˌW ɑɹ ju dˈuɪŋ tədˈA? ˌI hˈOp ðə wˈɛðəɹ ɪz nˈIs wˌɛɹ ju ɑɹ.',
    # Kokoro is an open-weight TTS model with eighty two million parameters.
    'kəkˈɔɹO ɪz ɐn ˈOpᵊnwˌAt tˌitˌiˈɛs mˈɑdᵊl wɪð ˈATi tˈu mˈɪljᵊn pəɹˈæməTəɹz.',
    # In 1969, two astronauts walked on the Moon for the first time.
    'ɪn nˌIntˈin sˈɪksti nˈIn, tˈu ˈæstɹənˌɔts wˈɔkt ˌɔn ðə mˈun fɔɹ ðə fˈɜɹst tˈIm.',
]
# Hello world! (golden.py's `short` case; --phonemes to add it)
SHORT = 'həlˈO wˈɜɹld!'

DB_PER_NEPER_POWER = 10.0 / math.log(10.0)   # ln(power) -> 10*log10(power)


# --------------------------------------------------------------------------
# tests/reference_small.rs `log_mel_distance`, transcribed: STFT as src/audio/stft.rs
# (periodic Hann in torch's f32 steps, center=True reflect padding, 1 + n/hop frames, magnitude),
# n_fft 512, hop 128; 64 triangular HTK-mel bands from 0 to 12 kHz on bins k*24000/512;
# mean over bands x frames (frames of the shorter signal) of |ln(P_a + 1e-5) - ln(P_b + 1e-5)|,
# P = sum_k w_band(k) |X_k|^2. (The FFT here is numpy's f64 on the f32 windowed frames;
# rustfft's f32 FFT differs by rounding only.)
# --------------------------------------------------------------------------
_N_FFT, _HOP, _BANDS, _FMAX, _SR = 512, 128, 64, 12000.0, 24000.0


def _window(n):
    step = np.float32(2.0 * math.pi / n)
    t = (np.arange(n, dtype=np.float32) * step).astype(np.float32)
    return (np.cos(t.astype(np.float64)).astype(np.float32) * np.float32(-0.5) + np.float32(0.5)).astype(np.float32)


def _mel_weights():
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = [hz(mel(_FMAX) * i / (_BANDS + 1)) for i in range(_BANDS + 2)]
    bins = _N_FFT // 2 + 1
    w = np.zeros((_BANDS, bins))
    for b in range(_BANDS):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        for k in range(bins):
            f = k * _SR / _N_FFT
            if f <= lo or f >= hi:
                continue
            w[b, k] = (f - lo) / (mid - lo) if f <= mid else (hi - f) / (hi - mid)
    return w


_W = None


def _magnitude(x):
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    pad = _N_FFT // 2
    assert x.size > pad, f'{x.size} samples are too few to reflect-pad by {pad}'
    xp = np.pad(x, pad, mode='reflect')
    frames = 1 + x.size // _HOP
    idx = np.arange(frames)[:, None] * _HOP + np.arange(_N_FFT)[None, :]
    fr = (xp[idx] * _window(_N_FFT)[None, :]).astype(np.float32)
    return np.abs(np.fft.rfft(fr.astype(np.float64), axis=1)).T     # [bins, frames]


def log_mel_distance(a, b):
    """Mean |Δ ln mel power| (natural log; ×10/ln10 for dB), as tests/reference_small.rs."""
    global _W
    if _W is None:
        _W = _mel_weights()
    ma, mb = _magnitude(a), _magnitude(b)
    n = min(ma.shape[1], mb.shape[1])
    la = np.log(_W @ (ma[:, :n] ** 2) + 1e-5)
    lb = np.log(_W @ (mb[:, :n] ** 2) + 1e-5)
    return float(np.abs(la - lb).mean())


def rel_rms(a, b):
    n = min(a.size, b.size)
    a, b = a[:n].astype(np.float64), b[:n].astype(np.float64)
    return float(np.sqrt(((a - b) ** 2).sum() / max((b ** 2).sum(), 1e-30)))


# --------------------------------------------------------------------------
def run_torch(model, phonemes, pack, seed, threads, speed=1.0):
    """KPipeline-style inference with golden.py's portable noise. -> (audio, pred_dur, dur_float, s)."""
    torch.set_num_threads(threads)
    ids = gguf_kmodel.input_ids_for(model, phonemes)
    ref_s = gguf_kmodel.style_for(pack, phonemes)
    logits = {}
    h = model.predictor.duration_proj.register_forward_hook(lambda m, i, o: logits.__setitem__('x', o.detach().clone()))
    try:
        with golden.NoiseController('portable', seed):
            t0 = time.perf_counter()
            audio, pred_dur = model.forward_with_tokens(ids, ref_s, speed)
            dt = time.perf_counter() - t0
    finally:
        h.remove()
    dfl = (torch.sigmoid(logits['x']).sum(-1) / speed).double().reshape(-1).numpy()
    return audio.numpy().astype(np.float32), pred_dur.reshape(-1).numpy().astype(np.int64), dfl, dt


def run_tritone(binary, model_path, voice, phonemes, seed, outdir, speed=1.0, extra=()):
    os.makedirs(outdir, exist_ok=True)
    for f in ('durations.npy', 'audio.npy'):
        if os.path.exists(os.path.join(outdir, f)):
            os.remove(os.path.join(outdir, f))
    cmd = [binary, 'say', '--model', model_path, '--voice', voice, '--phonemes', phonemes, '--seed', str(seed),
           '--dump', outdir, '--out', os.path.join(outdir, 'tritone.wav')] + list(extra)
    if speed != 1.0:
        cmd += ['--speed', str(speed)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f'tritone failed ({p.returncode}): {" ".join(cmd)}\n{p.stdout}{p.stderr}')
    return (np.load(os.path.join(outdir, 'audio.npy')).astype(np.float32),
            np.load(os.path.join(outdir, 'durations.npy')).astype(np.int64), dt, p.stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=os.path.join(ROOT, 'target/real/kokoro-f32.gguf'))
    ap.add_argument('--config', help="kokoro82m | small | config.json instead of the GGUF's metadata (default: the metadata)")
    ap.add_argument('--voices', help='comma-separated (default: jf_alpha,jm_kumo if present, else the first two)')
    ap.add_argument('--phonemes', action='append', help='a phoneme string (repeatable; default: the 4 built-in sentences)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--tritone', default=os.path.join(ROOT, 'target/debug/tritone'))
    ap.add_argument('--say-arg', action='append', default=[], help='an extra argument for `tritone say`, e.g. --say-arg=--int8 (repeatable)')
    ap.add_argument('--out', default=os.path.join(ROOT, 'target/faithful'))
    ap.add_argument('--max-l1-db', type=float, default=0.1, help='largest log-mel distance (dB) allowed')
    ap.add_argument('--other-seed', action='store_true', help='also run PyTorch with seed+1 (the distance another noise gives)')
    ap.add_argument('--sequential', action='store_true', help='run tritone and PyTorch one after the other (clean timings)')
    ap.add_argument('--json', help='report file (default: OUT/report.json)')
    a = ap.parse_args()
    t_all = time.time()
    if not os.path.exists(a.tritone):
        raise SystemExit(f'{a.tritone}: not built (cargo build --features cli)')

    gg = gguf_kmodel.read_tritone_gguf(a.model)
    gg = gguf_kmodel.override_config(gg, a.config)
    print(f'{a.model}: {len(gg["tensors"])} tensors ({", ".join(sorted(set(gg["types"].values())))}), '
          f'voices {sorted(gg["voices"])}, read in {gg["seconds"]:.1f} s', flush=True)
    model, load_rep = gguf_kmodel.load_kmodel(gg)
    print(f'KModel loaded from the GGUF in {load_rep["load_seconds"]:.1f} s: {load_rep["checkpoint_keys"]} '
          f'checkpoint tensors, {load_rep["weight_norm_pairs"]} weight-norm pairs (g*v/|v| vs W: max rel err '
          f'{load_rep["weight_norm_max_rel_err"]:.1e}), pooler zeros, {load_rep["instnorm_default"]} AdaIN '
          f'affine at default; every tensor checked', flush=True)

    if a.voices:
        voices = a.voices.split(',')
    else:
        pref = [v for v in ('jf_alpha', 'jm_kumo') if v in gg['voices']]
        voices = pref if len(pref) == 2 else sorted(gg['voices'])[:2]
    for v in voices:
        if v not in gg['voices']:
            raise SystemExit(f'voice {v!r} not in the GGUF ({sorted(gg["voices"])})')
    sentences = a.phonemes or SENTENCES

    # tritone runs one process per pair (single-threaded CPU backend); by default they run in a
    # background thread, one after another, while PyTorch works in this one (2 cores: ~2x faster
    # in total; the timings then include that contention). --sequential: one thing at a time.
    pairs = [(si, ps, v) for si, ps in enumerate(sentences) for v in voices]
    dirs = {(si, v): os.path.join(a.out, f's{si}_{v}') for si, _, v in pairs}
    pool = None
    if not a.sequential:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=1)
        futs = {(si, v): pool.submit(run_tritone, a.tritone, a.model, v, ps, a.seed, dirs[(si, v)], extra=a.say_arg) for si, ps, v in pairs}
    rows, failed = [], False
    for si, ps, v in pairs:
        pack = gg['voices'][v]
        d = dirs[(si, v)]
        os.makedirs(d, exist_ok=True)
        au1, du1, dfl, t1 = run_torch(model, ps, pack, a.seed, 1)
        au3 = None
        if a.other_seed:
            au3, _, _, t3 = run_torch(model, ps, pack, a.seed + 1, 1)
        if pool is None:
            aur, dur, tr, msg = run_tritone(a.tritone, a.model, v, ps, a.seed, d, extra=a.say_arg)
        else:
            aur, dur, tr, msg = futs[(si, v)].result()
        au2, du2, _, t2 = run_torch(model, ps, pack, a.seed, 2)
        torch.set_num_threads(1)
        np.save(os.path.join(d, 'torch_audio.npy'), au1)
        np.save(os.path.join(d, 'torch_durations.npy'), du1)
        same_len = dur.shape == du1.shape
        ndiff = int((dur != du1).sum()) if same_len else max(dur.size, du1.size)
        margin = float(np.abs(dfl - np.floor(dfl) - 0.5).min())
        finite = bool(np.isfinite(au1).all() and np.isfinite(aur).all() and np.isfinite(au2).all())
        ours = log_mel_distance(aur, au1)
        thr = log_mel_distance(au2, au1)
        m = re.search(r'in ([0-9.]+) s \(RTF ([0-9.]+)\)', msg)
        row = dict(sentence=si, phonemes=ps, voice=v, tokens=int(du1.size), frames=int(du1.sum()),
                   seconds_audio=au1.size / 24000, durations_differing_tokens=ndiff,
                   durations_identical=bool(same_len and ndiff == 0), durations_threads_identical=bool(np.array_equal(du1, du2)),
                   duration_rounding_margin=margin, samples_torch=int(au1.size), samples_tritone=int(aur.size),
                   audio_finite=finite,
                   logmel_ours=ours, logmel_ours_db=ours * DB_PER_NEPER_POWER,
                   logmel_threads=thr, logmel_threads_db=thr * DB_PER_NEPER_POWER,
                   rel_rms_ours=rel_rms(aur, au1), rel_rms_threads=rel_rms(au2, au1),
                   torch_1thread_s=t1, torch_2threads_s=t2, tritone_process_s=tr,
                   tritone_synthesis_s=float(m.group(1)) if m else None, tritone_rtf=float(m.group(2)) if m else None,
                   tritone_says=msg)
        if au3 is not None:
            row.update(logmel_other_seed=log_mel_distance(au3, au1), torch_other_seed_s=t3)
            row['logmel_other_seed_db'] = row['logmel_other_seed'] * DB_PER_NEPER_POWER
        ok = finite and row['durations_identical'] and row['logmel_ours_db'] <= a.max_l1_db
        failed |= not ok
        row['pass'] = ok
        rows.append(row)
        print(f's{si} {v:14s} T={row["tokens"]:3d} F={row["frames"]:4d} {row["seconds_audio"]:5.2f} s | durations '
              f'{"identical" if row["durations_identical"] else "DIFFER in %d tokens" % ndiff} (margin {margin:.1e}) | '
              f'log-mel ours {ours:.4f} ({row["logmel_ours_db"]:.3f} dB), PyTorch 1 vs 2 threads {thr:.4f} '
              f'({row["logmel_threads_db"]:.3f} dB)'
              + (f', other seed {row["logmel_other_seed"]:.3f} ({row["logmel_other_seed_db"]:.2f} dB)' if 'logmel_other_seed' in row else '')
              + f' | rel RMS ours {row["rel_rms_ours"]:.1e}, threads {row["rel_rms_threads"]:.1e} | time: torch 1t '
              f'{t1:.2f} s, 2t {t2:.2f} s, tritone {tr:.2f} s process / {row["tritone_synthesis_s"]} s synthesis'
              + ('' if finite else '  NON-FINITE AUDIO') + ('' if ok else '  FAIL'), flush=True)
    if pool is not None:
        pool.shutdown()

    summary = dict(model=a.model, voices=voices, seed=a.seed, sentences=len(sentences), pairs=len(rows),
                   max_l1_db=a.max_l1_db, load=load_rep, gguf_read_s=gg['seconds'],
                   all_durations_identical=all(r['durations_identical'] for r in rows),
                   logmel_ours_db_max=max(r['logmel_ours_db'] for r in rows),
                   logmel_ours_db_mean=float(np.mean([r['logmel_ours_db'] for r in rows])),
                   logmel_threads_db_max=max(r['logmel_threads_db'] for r in rows),
                   logmel_threads_db_mean=float(np.mean([r['logmel_threads_db'] for r in rows])),
                   torch_1thread_s_total=sum(r['torch_1thread_s'] for r in rows),
                   tritone_process_s_total=sum(r['tritone_process_s'] for r in rows),
                   tritone_synthesis_s_total=sum(r['tritone_synthesis_s'] or 0 for r in rows),
                   mode='sequential' if a.sequential else 'overlapped (tritone in a background thread)',
                   total_s=time.time() - t_all, passed=not failed,
                   torch=torch.__version__, rows=rows)
    if a.other_seed:
        summary['logmel_other_seed_db_min'] = min(r['logmel_other_seed_db'] for r in rows)
    path = a.json or os.path.join(a.out, 'report.json')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(f'\n{len(rows)} runs: durations {"identical" if summary["all_durations_identical"] else "DIFFER"}; log-mel ours '
          f'max {summary["logmel_ours_db_max"]:.3f} dB (mean {summary["logmel_ours_db_mean"]:.3f}), PyTorch 1 vs 2 threads max '
          f'{summary["logmel_threads_db_max"]:.3f} dB (mean {summary["logmel_threads_db_mean"]:.3f})'
          + (f', another seed min {summary["logmel_other_seed_db_min"]:.2f} dB' if 'logmel_other_seed_db_min' in summary else '')
          + f'; limit {a.max_l1_db} dB -> {"PASS" if not failed else "FAIL"}')
    print(f'time: total {summary["total_s"]:.1f} s (GGUF read {gg["seconds"]:.1f} s, KModel load {load_rep["load_seconds"]:.1f} s, '
          f'PyTorch 1-thread forwards {summary["torch_1thread_s_total"]:.1f} s, tritone processes {summary["tritone_process_s_total"]:.1f} s '
          f'of which synthesis {summary["tritone_synthesis_s_total"]:.1f} s; {summary["mode"]}); '
          f'report {path}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
