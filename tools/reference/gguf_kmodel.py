#!/usr/bin/env python3
"""
Weights from a tritone GGUF (real Kokoro-82M or golden.py's seeded random ones) loaded into the
OFFICIAL kokoro==0.9.4 KModel, through the same path the real checkpoint takes.

A tritone GGUF (src/model/checkpoint.rs `write_model`) holds:
  * `kokoro.*` metadata: the config.json fields (`kokoro.istftnet.resblock_dilation_sizes` flattened,
    one row per kernel size), `tokenizer.ggml.tokens` (symbol per id, "" for unused ids),
    `kokoro.voices` (voice names);
  * every weight under its reference `state_dict` name without `module.` (`bert.…`, `bert_encoder.…`,
    `predictor.…`, `text_encoder.…`, `decoder.…`), weight norm FOLDED into one `X.weight`;
  * each voice pack as `voices.<name>`, numpy shape [510, 256], F32.

The mapping back to the checkpoint layout KModel loads, `{top: {'module.' + name: tensor}}`:
  * `X.weight_v` = W and `X.weight_g` = ||W|| over every dim but 0 (torch.nn.utils.weight_norm,
    dim=0, the kokoro==0.9.4 style), so that g * v / ||v|| = W (to f32 rounding; checked); an
    all-zero row of W (the real int8-derived file has 94 such output channels in 18 layers) gets
    v = 1 and g = 0 there (0 * 0 / 0 would be NaN);
  * `bert.pooler.*` (unused by Kokoro, absent from tritone files): zeros;
  * `bert.embeddings.token_type_embeddings.weight` stored as [1, E] (row 0 only, the only row
    Kokoro uses: token_type_ids are all 0): padded with zero rows to KModel's [2, E];
  * AdaIN1d's `norm.weight`/`norm.bias` (InstanceNorm1d affine, absent from the real checkpoint):
    left at KModel's init (1, 0) unless the file has them;
  * everything else: the tensor of the same name, same shape.
Every file tensor must be used and every model parameter must come from the file (else an error
lists them). After KModel's own loading, every parameter is compared with what was written.

Used by faithful.py and export_onnx.py. Needs torch + kokoro (golden.py's shims) and gguf-py.
"""
import json, math, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402  (installs the misaki/attr shims, patches downloads away)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from golden import KModel  # noqa: E402

TOPS = ['bert', 'bert_encoder', 'predictor', 'text_encoder', 'decoder']


# --------------------------------------------------------------------------
# GGUF reading (gguf-py)
# --------------------------------------------------------------------------
def _field(reader, key, required=True):
    f = reader.fields.get(key)
    if f is None:
        if required:
            raise KeyError(f'GGUF metadata {key!r} missing')
        return None
    return f.contents()


def config_from_gguf(reader):
    """The config.json dict (with vocab) from a tritone GGUF's metadata."""
    g = lambda k: int(_field(reader, 'kokoro.' + k))  # noqa: E731
    lst = lambda k: [int(x) for x in _field(reader, 'kokoro.' + k)]  # noqa: E731
    kernels = lst('istftnet.resblock_kernel_sizes')
    flat = lst('istftnet.resblock_dilation_sizes')
    assert kernels and len(flat) % len(kernels) == 0, (kernels, flat)
    per = len(flat) // len(kernels)
    tokens = _field(reader, 'tokenizer.ggml.tokens')
    cfg = {
        'istftnet': {
            'upsample_kernel_sizes': lst('istftnet.upsample_kernel_sizes'),
            'upsample_rates': lst('istftnet.upsample_rates'),
            'gen_istft_hop_size': g('istftnet.gen_istft_hop_size'),
            'gen_istft_n_fft': g('istftnet.gen_istft_n_fft'),
            'resblock_dilation_sizes': [flat[i * per:(i + 1) * per] for i in range(len(kernels))],
            'resblock_kernel_sizes': kernels,
            'upsample_initial_channel': g('istftnet.upsample_initial_channel'),
        },
        'dim_in': g('dim_in'), 'dropout': 0.2, 'hidden_dim': g('hidden_dim'), 'max_conv_dim': g('max_conv_dim'),
        'max_dur': g('max_dur'), 'multispeaker': True, 'n_layer': g('n_layer'), 'n_mels': g('n_mels'),
        'n_token': g('n_token'), 'style_dim': g('style_dim'),
        'text_encoder_kernel_size': g('text_encoder_kernel_size'),
        'plbert': {
            'hidden_size': g('plbert.hidden_size'), 'num_attention_heads': g('plbert.num_attention_heads'),
            'intermediate_size': g('plbert.intermediate_size'),
            'max_position_embeddings': g('plbert.max_position_embeddings'),
            'num_hidden_layers': g('plbert.num_hidden_layers'), 'dropout': 0.1,
        },
        'vocab': {t: i for i, t in enumerate(tokens) if t},
    }
    emb = _field(reader, 'kokoro.plbert.embedding_size', required=False)
    if emb is not None and int(emb) != 128:  # transformers' AlbertConfig default is 128
        cfg['plbert']['embedding_size'] = int(emb)
    return cfg


def _tensor_f32(t):
    import gguf
    name = gguf.GGMLQuantizationType(int(t.tensor_type)).name
    shape = tuple(int(d) for d in reversed([int(x) for x in t.shape]))  # numpy order = ne reversed
    if name == 'F32':
        a = np.array(t.data, dtype=np.float32)
    elif name in ('F16', 'BF16'):
        a = np.asarray(t.data).astype(np.float32) if name == 'F16' else gguf.quants.dequantize(t.data, t.tensor_type)
    else:
        a = gguf.quants.dequantize(t.data, t.tensor_type)
    return np.ascontiguousarray(a.reshape(shape).astype(np.float32)), name


def read_tritone_gguf(path):
    """-> dict(config, tensors {name: f32 ndarray (PyTorch shape)}, voices {name: [510,256]},
    types {name: ggml type}, path, arch, seconds)."""
    from gguf import GGUFReader
    t0 = time.time()
    r = GGUFReader(path, 'r')
    arch = _field(r, 'general.architecture', required=False)
    if arch != 'kokoro' or 'kokoro.n_token' not in r.fields:
        raise SystemExit(f'{path}: not a tritone Kokoro GGUF (general.architecture={arch!r}); '
                         'TTS.cpp files: convert with `tritone convert` first')
    cfg = config_from_gguf(r)
    tensors, voices, types = {}, {}, {}
    for t in r.tensors:
        a, ty = _tensor_f32(t)
        types[t.name] = ty
        if t.name.startswith('voices.'):
            voices[t.name[len('voices.'):]] = a
        else:
            tensors[t.name] = a
    listed = _field(r, 'kokoro.voices', required=False) or []
    missing = [v for v in listed if v not in voices]
    assert not missing, f'kokoro.voices lists {missing} without a voices.<name> tensor'
    return dict(config=cfg, tensors=tensors, voices=voices, types=types, path=path, arch=arch,
                seconds=time.time() - t0)


def override_config(gg, spec):
    """--config: 'kokoro82m' | 'small' | path to a config.json instead of the file's metadata.
    Prints the fields where the two differ (the weights' shapes must still fit)."""
    if not spec:
        return gg
    _, cfg = golden.load_config(spec)
    meta = gg['config']
    def flat(d, p=''):
        for k, v in d.items():
            if isinstance(v, dict) and k != 'vocab':
                yield from flat(v, f'{p}{k}.')
            else:
                yield f'{p}{k}', v
    a, b = dict(flat(meta)), dict(flat(cfg))
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in ('dropout', 'plbert.dropout', 'multispeaker'))
    print(f'--config {spec}: ' + ('same as the GGUF metadata' if not diff else 'differs from the GGUF metadata in ' + ', '.join(diff)))
    return dict(gg, config=cfg)


# --------------------------------------------------------------------------
# GGUF tensors -> checkpoint layout
# --------------------------------------------------------------------------
def _wn_g(W, g_shape):
    """||W|| over the dims where weight_g has size 1 (every dim but 0), in f64, as f32."""
    axes = tuple(i for i, d in enumerate(g_shape) if d == 1)
    return np.sqrt((W.astype(np.float64) ** 2).sum(axis=axes, keepdims=True)).astype(np.float32)


def checkpoint_from_tensors(cfg, tensors):
    """-> (ckpt {top: {'module.'+k: torch tensor}}, report). Raises with every problem listed."""
    mods = golden.build_modules(cfg)
    ckpt, used, problems = {}, set(), []
    rep = dict(file_tensors=len(tensors), checkpoint_keys=0, weight_norm_pairs=0, pooler_zeros=[],
               instnorm_default=0, instnorm_from_file=0)
    for top in TOPS:
        sd = {}
        for k, v in mods[top].state_dict().items():
            full = f'{top}.{k}'
            shape = tuple(v.shape)
            if not v.is_floating_point() or k.endswith('position_ids'):
                continue
            if full.endswith('.weight_g') or full.endswith('.weight_v'):
                base = full[:-len('_g')]          # X.weight
                W = tensors.get(base)
                if W is None:
                    problems.append(f'missing {base} (for {full})')
                    continue
                used.add(base)
                if full.endswith('_v'):
                    if W.shape != shape:
                        problems.append(f'{base}: shape {W.shape}, the model needs {shape}')
                        continue
                    v = W.copy()
                    # An all-zero row (output channel) would make g * v / ||v|| = 0 * 0 / 0 = NaN: give
                    # v ones there (g is 0), so the row is 0 * 1 / ||1|| = 0 exactly, as in the file.
                    zero = _wn_g(W, (W.shape[0],) + (1,) * (W.ndim - 1)).reshape(-1) == 0
                    if zero.any():
                        v[zero] = 1.0
                        rep['weight_norm_zero_rows'] = rep.get('weight_norm_zero_rows', 0) + int(zero.sum())
                        rep.setdefault('weight_norm_zero_row_layers', []).append(f'{base} ({int(zero.sum())})')
                    sd['module.' + k] = torch.from_numpy(v)
                    rep['weight_norm_pairs'] += 1
                else:
                    if W.ndim != len(shape) or W.shape[0] != shape[0]:
                        problems.append(f'{base}: shape {W.shape} does not fit weight_g {shape}')
                        continue
                    sd['module.' + k] = torch.from_numpy(_wn_g(W, shape))
                continue
            if golden.is_instnorm_affine(full) and full not in tensors:
                rep['instnorm_default'] += 1          # stays at KModel's init (1 / 0)
                continue
            if full.startswith('bert.pooler.') and full not in tensors:
                sd['module.' + k] = torch.zeros(shape, dtype=torch.float32)
                rep['pooler_zeros'].append(full)
                continue
            W = tensors.get(full)
            if W is None:
                problems.append(f'missing {full} {list(shape)}')
                continue
            if full == 'bert.embeddings.token_type_embeddings.weight' and W.shape[0] < shape[0] and W.shape[1:] == shape[1:]:
                # tritone (like TTS.cpp) may keep only row 0, the only one Kokoro uses
                # (token_type_ids are all 0): the other rows become zeros.
                W = np.concatenate([W, np.zeros((shape[0] - W.shape[0],) + shape[1:], np.float32)])
                rep['token_type_rows_padded'] = shape[0] - tensors[full].shape[0]
            if W.shape != shape:
                problems.append(f'{full}: shape {list(W.shape)}, the model needs {list(shape)}')
                continue
            if golden.is_instnorm_affine(full):
                rep['instnorm_from_file'] += 1
            used.add(full)
            sd['module.' + k] = torch.from_numpy(W.copy())
        ckpt[top] = sd
        rep['checkpoint_keys'] += len(sd)
    unused = sorted(set(tensors) - used)
    if unused:
        problems.append(f'{len(unused)} file tensors not used by KModel: {unused[:20]}')
    if problems:
        raise SystemExit('GGUF -> KModel checkpoint: %d problems:\n  %s' % (len(problems), '\n  '.join(problems)))
    rep['file_tensors_used'] = len(used)
    return ckpt, rep


def load_kmodel(gg, disable_complex=False, workdir=None, keep_pth=None):
    """Writes the checkpoint (kokoro-v1_0.pth layout) to a temporary .pth, loads it with
    KModel(config=dict, model=path) and checks every parameter. -> (model, report)."""
    cfg, tensors = gg['config'], gg['tensors']
    t0 = time.time()
    ckpt, rep = checkpoint_from_tensors(cfg, tensors)
    own_dir = None
    if workdir is None:
        own_dir = tempfile.TemporaryDirectory(prefix='gguf_kmodel_')
        workdir = own_dir.name
    pth = keep_pth or os.path.join(workdir, 'from_gguf.pth')
    torch.save(ckpt, pth)
    model = KModel(repo_id='hexgrad/Kokoro-82M', config=cfg, model=pth, disable_complex=disable_complex).eval()
    if not keep_pth:
        os.remove(pth)
    if own_dir is not None:
        own_dir.cleanup()
    # 1. every written tensor landed, bit for bit
    mismatched, missing = [], []
    for top in TOPS:
        msd = getattr(model, top).state_dict()
        for k, v in ckpt[top].items():
            k = k[len('module.'):]
            if k not in msd:
                missing.append(f'{top}.{k}')
            elif not torch.equal(msd[k], v):
                mismatched.append(f'{top}.{k}')
        # 2. nothing in the model left unset (other than defaults that are documented above)
        for k, v in msd.items():
            full = f'{top}.{k}'
            if 'module.' + k in ckpt[top] or not v.is_floating_point() or '.stft.' in k or k.endswith('position_ids'):
                continue
            if golden.is_instnorm_affine(full):
                want = 1.0 if full.endswith('weight') else 0.0
                assert torch.all(v == want), f'{full}: not at its default {want}'
                continue
            missing.append(f'{full} (not in the checkpoint)')
    assert not missing and not mismatched, dict(missing=missing[:10], mismatched=mismatched[:10])
    # 3. weight norm: g * v / ||v|| as torch computes it vs the file's folded W
    worst = 0.0
    for top in TOPS:
        for name, mod in getattr(model, top).named_modules():
            if hasattr(mod, 'weight_g') and hasattr(mod, 'weight_v'):
                W = torch.from_numpy(tensors[f'{top}.{name}.weight'])
                with torch.no_grad():
                    got = torch._weight_norm(mod.weight_v, mod.weight_g, 0)
                err = float((got - W).abs().max() / W.abs().max().clamp(min=1e-30))
                assert math.isfinite(err), f'{top}.{name}: weight norm gives non-finite values'
                worst = max(worst, err)
    rep['weight_norm_max_rel_err'] = worst
    rep['load_seconds'] = time.time() - t0
    rep['disable_complex'] = disable_complex
    return model, rep


def style_for(pack, phonemes):
    """KPipeline.infer: pack[len(ps) - 1] (the length counts every code point, dropped ones too)."""
    row = min(max(len(phonemes), 1), pack.shape[0]) - 1
    return torch.from_numpy(pack[row:row + 1].copy())   # [1, 256]


def input_ids_for(model, phonemes):
    """KModel.forward: vocab lookup, unknown symbols dropped, 0 at both ends."""
    ids = [i for i in map(model.vocab.get, phonemes) if i is not None]
    assert len(ids) + 2 <= model.context_length, (len(ids) + 2, model.context_length)
    return torch.LongTensor([[0, *ids, 0]])


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='load a tritone GGUF into the official KModel and check every tensor')
    ap.add_argument('gguf')
    ap.add_argument('--disable-complex', action='store_true')
    a = ap.parse_args()
    gg = read_tritone_gguf(a.gguf)
    print(f'read {a.gguf}: {len(gg["tensors"])} tensors, voices {sorted(gg["voices"])}, types '
          f'{sorted(set(gg["types"].values()))}, {gg["seconds"]:.1f} s')
    print(json.dumps({k: v for k, v in gg['config'].items() if k != 'vocab'}))
    _, rep = load_kmodel(gg, a.disable_complex)
    print(json.dumps(rep, indent=1))
