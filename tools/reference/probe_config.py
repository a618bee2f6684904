#!/usr/bin/env python3
"""
Which Kokoro config sizes can be reduced with the official kokoro==0.9.4 code?

Builds the model through golden.build_model (portable random weights, official KModel
loading path) for the base config with ONE change applied, runs forward_with_tokens on a
short phoneme string and reports ok / the exception. Used to choose golden.py's "small"
config; the result is recorded in tests/fixtures/reference/small/README.md.

  target/refenv/bin/python tools/reference/probe_config.py [--base small|kokoro82m] [--json out.json]
"""
import argparse, copy, json, os, sys, tempfile, time, traceback
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402
import torch   # noqa: E402


def variants(base):
    ist = lambda **kw: ('istftnet', {**base['istftnet'], **kw})
    plb = lambda **kw: ('plbert', {**base['plbert'], **kw})
    return {
        'base (unchanged)': [],
        'hidden_dim=256': [('hidden_dim', 256)],
        'style_dim=64': [('style_dim', 64)],
        'n_layer=1': [('n_layer', 1)],
        'text_encoder_kernel_size=3': [('text_encoder_kernel_size', 3)],
        'max_dur=20': [('max_dur', 20)],
        'plbert hidden 64/heads 4/inter 128/layers 2': [plb(hidden_size=64, num_attention_heads=4, intermediate_size=128, num_hidden_layers=2)],
        'plbert max_position_embeddings=32': [plb(max_position_embeddings=32)],
        'plbert embedding_size=32': [plb(embedding_size=32)],
        'upsample_initial_channel=256': [ist(upsample_initial_channel=256)],
        'resblock_kernel_sizes=[3] (1 dilation list)': [ist(resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]])],
        'resblock_kernel_sizes=[3,5]': [ist(resblock_kernel_sizes=[3, 5], resblock_dilation_sizes=[[1, 3, 5]] * 2)],
        'resblock dilations [1,2] (2 per block)': [ist(resblock_dilation_sizes=[[1, 2]] * len(base['istftnet']['resblock_kernel_sizes']))],
        'upsample_rates=[4,2] kernels=[8,4]': [ist(upsample_rates=[4, 2], upsample_kernel_sizes=[8, 4])],
        'upsample_rates=[2,2] kernels=[4,4]': [ist(upsample_rates=[2, 2], upsample_kernel_sizes=[4, 4])],
        'upsample_rates=[3,2] kernels=[6,4]': [ist(upsample_rates=[3, 2], upsample_kernel_sizes=[6, 4])],
        'upsample_rates=[4,3] kernels=[8,6]': [ist(upsample_rates=[4, 3], upsample_kernel_sizes=[8, 6])],
        'upsample_rates=[8] kernels=[16] (1 stage)': [ist(upsample_rates=[8], upsample_kernel_sizes=[16])],
        'gen_istft_n_fft=8 hop=2': [ist(gen_istft_n_fft=8, gen_istft_hop_size=2)],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base', default='kokoro82m')
    ap.add_argument('--json')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, base = golden.load_config(args.base)
    ps = golden.CASES['short']['phonemes']
    pack = torch.from_numpy(golden.portable_param('voicepack', (510, 1, 256), 0, 0.3, 0.0))
    res = {}
    with tempfile.TemporaryDirectory() as td:
        for name, changes in variants(base).items():
            cfg = copy.deepcopy(base)
            for k, v in changes:
                cfg[k] = v
            t0 = time.time()
            try:
                model, flat, _ = golden.build_model(cfg, 0, td)
                ids = [i for i in map(lambda p: model.vocab.get(p), ps) if i is not None]
                ids = torch.LongTensor([[0, *ids, 0]])
                with golden.NoiseController('portable', 0):
                    audio, dur = model.forward_with_tokens(ids, pack[len(ps) - 1], 1.0)
                r = dict(ok=True, params=sum(v.numel() for v in flat.values()), frames=int(dur.sum()),
                         samples=int(audio.numel()), samples_per_frame=int(audio.numel()) // int(dur.sum()))
            except Exception as e:  # noqa: BLE001
                tb = traceback.extract_tb(e.__traceback__)[-1]
                r = dict(ok=False, error=f'{type(e).__name__}: {str(e)[:200]}', where=f'{os.path.basename(tb.filename)}:{tb.lineno}')
            r['seconds'] = round(time.time() - t0, 2)
            res[name] = r
            print(f'{name:48s} {json.dumps(r)}', flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
