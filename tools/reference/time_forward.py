#!/usr/bin/env python3
"""
PyTorch CPU forward time of the official Kokoro model (random weights, golden.py's path) for one case
at several thread counts, interleaved, several repetitions; reports min and median per thread count
and the 1-minute load average before each run (other processes on the machine distort timings).

  target/refenv/bin/python tools/reference/time_forward.py --config kokoro82m --case medium --threads 1,2 --reps 5
"""
import argparse, json, os, statistics, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402
import torch   # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', default='kokoro82m')
    ap.add_argument('--case', default='medium')
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--json')
    args = ap.parse_args()
    _, cfg = golden.load_config(args.config)
    with tempfile.TemporaryDirectory() as td:
        model, _, _ = golden.build_model(cfg, args.seed, td)
    c = golden.CASES[args.case]
    ps = c['phonemes']
    pack = torch.from_numpy(golden.portable_param('voicepack', (510, 1, 256), args.seed, 0.3, 0.0))
    ids = torch.LongTensor([[0, *[i for i in map(model.vocab.get, ps) if i is not None], 0]])
    ref_s = pack[len(ps) - 1]
    threads = [int(x) for x in args.threads.split(',')]
    res = {t: [] for t in threads}
    loads = {t: [] for t in threads}
    samples = None
    for t in threads:  # warm-up per thread count
        torch.set_num_threads(t)
        with golden.NoiseController('portable', args.seed):
            a, _ = model.forward_with_tokens(ids, ref_s, c['speed'])
        samples = a.numel()
    for _ in range(args.reps):
        for t in threads:
            torch.set_num_threads(t)
            loads[t].append(os.getloadavg()[0])
            with golden.NoiseController('portable', args.seed):
                t0 = time.perf_counter()
                model.forward_with_tokens(ids, ref_s, c['speed'])
                res[t].append(time.perf_counter() - t0)
    audio_s = samples / 24000
    out = {'config': args.config, 'case': args.case, 'tokens': int(ids.shape[1]), 'audio_seconds': audio_s,
           'torch': torch.__version__, 'per_threads': {}}
    for t in threads:
        out['per_threads'][t] = {'min_s': min(res[t]), 'median_s': statistics.median(res[t]), 'all_s': res[t],
                                 'rtf_min': min(res[t]) / audio_s, 'loadavg_1min_before': loads[t]}
        print(f'threads={t}: min {min(res[t]):.3f} s, median {statistics.median(res[t]):.3f} s, '
              f'RTF {min(res[t]) / audio_s:.3f} (audio {audio_s:.2f} s), runs {[round(x, 3) for x in res[t]]}, '
              f'load {[round(x, 2) for x in loads[t]]}', flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
