#!/usr/bin/env python3
"""
Compares two golden.py output folders array by array (e.g. --threads 1 vs --threads 2).

  python tools/reference/compare_runs.py DIR_A DIR_B [--arrays audio,gen_har_phase] [--json out.json]

For every case folder present in both and every .npy present in both it prints
rel_rms = rms(a - b) / rms(b), max |a - b| and whether the arrays are bit-identical.
Only numpy is needed.
"""
import argparse, json, os
import numpy as np


def compare(a, b):
    if a.shape != b.shape:
        return {'shape_a': list(a.shape), 'shape_b': list(b.shape)}
    if a.dtype.kind != 'f':
        return {'equal': bool(np.array_equal(a, b)), 'mismatches': int((a != b).sum())}
    d = a.astype(np.float64) - b.astype(np.float64)
    rb = float(np.sqrt(np.mean(b.astype(np.float64) ** 2)))
    return {'rel_rms': float(np.sqrt(np.mean(d * d)) / rb) if rb > 0 else float('nan'),
            'max_abs': float(np.abs(d).max()) if d.size else 0.0, 'bit_identical': bool(np.array_equal(a, b))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('a'); ap.add_argument('b')
    ap.add_argument('--arrays', help='comma-separated array names (default: all common)')
    ap.add_argument('--json')
    args = ap.parse_args()
    only = set(args.arrays.split(',')) if args.arrays else None
    res = {}
    for case in sorted(os.listdir(args.a)):
        pa, pb = os.path.join(args.a, case), os.path.join(args.b, case)
        if not (os.path.isdir(pa) and os.path.isdir(pb)):
            continue
        names = sorted(f[:-4] for f in os.listdir(pa) if f.endswith('.npy') and os.path.exists(os.path.join(pb, f)))
        for n in names:
            if only and n not in only:
                continue
            r = compare(np.load(os.path.join(pa, n + '.npy')), np.load(os.path.join(pb, n + '.npy')))
            res.setdefault(case, {})[n] = r
            print(f'{case:16s} {n:24s} ' + ' '.join(f'{k}={v:.3g}' if isinstance(v, float) else f'{k}={v}' for k, v in r.items()))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
