#!/usr/bin/env python3
"""
Tiny PyTorch checkpoints for tritone's .pth reader tests, written with the real torch.save
(zip format, pickle protocol 2, the format kokoro-v1_0.pth uses).

  target/refenv/bin/python tools/reference/make_pth_fixtures.py [--out tests/fixtures/reference/pth]

Files:
* tiny_kokoro_layout.pth  {'bert': {...}, 'decoder': {...}}, every key with the 'module.' prefix
  (the kokoro-v1_0.pth layout). Contains:
    - contiguous f32 tensors, one f16 tensor, one int64 tensor;
    - a non-contiguous view: a transposed tensor (strides (1, 5)) and a stepped slice (x[:, ::2]);
    - slices of one larger storage (storage offset != 0), two tensors sharing that storage;
    - old-style weight norm (torch.nn.utils.weight_norm): weight_g / weight_v of a
      Conv1d(3, 4, 5) (g [4,1,1], v [4,3,5]) and of a ConvTranspose1d(3, 2, 4) (g [3,1,1], v [3,2,4]).
* tiny_parametrizations.pth  same layout, new-style weight norm names
  (torch.nn.utils.parametrizations.weight_norm): '...parametrizations.weight.original0' (g) and
  '...parametrizations.weight.original1' (v), for a Conv1d and a ConvTranspose1d.
* expected.json  for each file and each tensor: group, name, dtype, shape, the stride and storage
  offset it was saved with, and its values flattened in C order; plus, for each weight-norm pair,
  the folded weight w = g * v / ||v|| (norm over every dim except 0), computed by torch in f32
  (torch._weight_norm) and in f64.
Values are deterministic (numpy RandomState(1234), legacy API, stable across versions).
"""
import argparse, json, os, sys

import numpy as np
import torch


def det(rs, *shape, dtype=torch.float32):
    return torch.from_numpy(rs.uniform(-1.0, 1.0, size=shape).astype(np.float32)).to(dtype)


def describe(group, name, t):
    vals = t.detach().reshape(-1).tolist() if t.dim() else [t.item()]
    return {'group': group, 'name': name, 'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape),
            'saved_stride': list(t.stride()), 'saved_storage_offset': int(t.storage_offset()),
            'saved_storage_numel': int(t.untyped_storage().nbytes() // t.element_size()),
            'contiguous': bool(t.is_contiguous()), 'values': vals}


def folded(group, gname, vname, g, v, out_name):
    w32 = torch._weight_norm(v, g, 0)
    vd, gd = v.double(), g.double()
    norm = vd.reshape(vd.shape[0], -1).norm(dim=1).reshape([-1] + [1] * (vd.dim() - 1))
    w64 = gd * vd / norm
    return {'group': group, 'g': gname, 'v': vname, 'name': out_name, 'shape': list(w32.shape),
            'norm_dims': 'all except 0', 'values_f32': w32.reshape(-1).tolist(), 'values_f64': w64.reshape(-1).tolist()}


def tiny_kokoro_layout(rs):
    bert, dec, pairs = {}, {}, []
    bert['module.embeddings.word_embeddings.weight'] = det(rs, 6, 4)                      # contiguous f32
    bert['module.embeddings.position_ids'] = torch.arange(8, dtype=torch.int64).reshape(1, 8)  # int64
    base = det(rs, 3, 5)
    bert['module.encoder.dense.weight'] = base.t()                                         # [5,3], stride (1,5)
    bert['module.encoder.dense.bias'] = det(rs, 5, dtype=torch.float16)                   # f16
    wide = det(rs, 4, 6)
    bert['module.encoder.ffn.weight'] = wide[:, ::2]                                      # [4,3], stride (6,2)
    big = det(rs, 8, 5)
    bert['module.pooler.dense.weight'] = big[2:5]                                          # offset 10
    bert['module.pooler.dense.bias'] = big[6]                                              # offset 30, same storage
    # old-style weight norm, exactly as kokoro==0.9.4 / kokoro-v1_0.pth
    conv = torch.nn.utils.weight_norm(torch.nn.Conv1d(3, 4, 5))
    convt = torch.nn.utils.weight_norm(torch.nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1))
    with torch.no_grad():
        for m in (conv, convt):
            m.weight_v.copy_(det(rs, *m.weight_v.shape))
            m.weight_g.copy_(det(rs, *m.weight_g.shape).abs() + 0.5)
            m.bias.copy_(det(rs, *m.bias.shape))
    for prefix, m in (('F0_conv', conv), ('generator.ups.0', convt)):
        for k, v in m.state_dict().items():
            dec[f'module.{prefix}.{k}'] = v.detach().clone()
        pairs.append(folded('decoder', f'module.{prefix}.weight_g', f'module.{prefix}.weight_v',
                            m.weight_g.detach(), m.weight_v.detach(), f'module.{prefix}.weight'))
    dec['module.asr_res.0.bias'] = det(rs, 4)
    return {'bert': bert, 'decoder': dec}, pairs


def tiny_parametrizations(rs):
    from torch.nn.utils.parametrizations import weight_norm
    dec, pairs = {}, []
    conv = weight_norm(torch.nn.Conv1d(3, 4, 5))
    convt = weight_norm(torch.nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1))
    with torch.no_grad():
        for m in (conv, convt):
            p = m.parametrizations.weight
            p.original1.copy_(det(rs, *p.original1.shape))
            p.original0.copy_(det(rs, *p.original0.shape).abs() + 0.5)
            m.bias.copy_(det(rs, *m.bias.shape))
    for prefix, m in (('generator.conv_post', conv), ('generator.ups.1', convt)):
        for k, v in m.state_dict().items():
            dec[f'module.{prefix}.{k}'] = v.detach().clone()
        p = m.parametrizations.weight
        pairs.append(folded('decoder', f'module.{prefix}.parametrizations.weight.original0',
                            f'module.{prefix}.parametrizations.weight.original1',
                            p.original0.detach(), p.original1.detach(), f'module.{prefix}.weight'))
        # sanity: the module's own effective weight equals torch._weight_norm
        assert torch.equal(m.weight.detach(), torch._weight_norm(p.original1, p.original0, 0))
    return {'decoder': dec, 'bert_encoder': {'module.weight': det(rs, 2, 3), 'module.bias': det(rs, 2)}}, pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                                  'tests', 'fixtures', 'reference', 'pth'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rs = np.random.RandomState(1234)
    expected = {'torch': torch.__version__, 'generator': 'tools/reference/make_pth_fixtures.py', 'files': {}}
    for fname, fn in (('tiny_kokoro_layout.pth', tiny_kokoro_layout), ('tiny_parametrizations.pth', tiny_parametrizations)):
        ckpt, pairs = fn(rs)
        path = os.path.join(args.out, fname)
        torch.save(ckpt, path)
        # read back with torch itself: values, dtypes and strides survive the round trip
        back = torch.load(path, map_location='cpu', weights_only=True)
        tensors = []
        for group, sd in ckpt.items():
            for name, t in sd.items():
                b = back[group][name]
                assert b.dtype == t.dtype and b.shape == t.shape and torch.equal(b, t), (group, name)
                assert b.stride() == t.stride() and b.storage_offset() == t.storage_offset(), (group, name)
                tensors.append(describe(group, name, t))
        expected['files'][fname] = {'bytes': os.path.getsize(path), 'top_level_keys': list(ckpt.keys()),
                                    'tensors': tensors, 'weight_norm': pairs}
        print(f'{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors, {len(pairs)} weight-norm pairs')
    with open(os.path.join(args.out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
