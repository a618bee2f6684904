#!/usr/bin/env python3
"""Trains the letter-to-sound fallback (data/phonemize/lts-{us,gb}.bin) from misaki's lexicons.

Words: the keys of {us,gb}_gold.json and {us,gb}_silver.json that are lowercase a-z and
apostrophes (gold wins; a part-of-speech entry contributes its DEFAULT). 5% of the words,
picked by CRC-32 of the word, are held out for evaluation and never trained on.

1. Alignment: EM learns P(chunk | letter) where a chunk is 0, 1 or 2 phoneme units; a unit
   is one phoneme with its stress mark and length mark ("ˈiː" is one unit), but alignment
   compares units without stress so that stressed and unstressed vowels share statistics.
2. A decision tree predicts each letter's chunk (stress included), right to left, from the
   letters within WINDOW on either side, the stress-free chunks already chosen for the next
   two letters, and whether a primary stress was chosen to the right. Each node splits on the
   feature with the best gain ratio; a node whose answer equals its parent's is dropped
   unless a descendant differs, so the tree only stores exceptions.
3. The word then gets exactly one primary stress (src/phonemize/lts.rs, `fix_stress`).

The binary format is documented at the top of src/phonemize/lts.rs; `predict` here mirrors
that reader step for step, and the held-out fixtures it writes let the Rust tests compare.
Deterministic: the same inputs give the same bytes.

Usage: python tools/phonemize/train_lts.py --misaki-data DIR --out data/phonemize
           [--fixtures tests/fixtures/phonemize] [--lang us|gb]
Needs only numpy.
"""
import argparse
import json
import re
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

MAGIC = b"TLTS"
VERSION = 1
LETTERS = "'abcdefghijklmnopqrstuvwxyz"
OUTSIDE = len(LETTERS)  # letter code of positions before and after the word
WINDOW = 5
FEATURE_COUNT = 2 * WINDOW + 4  # the letters around, two chunks to the right, a stress flag
NO_CHUNK = 255  # history feature value past the end of the word
LEAF = 255
PRIMARY, SECONDARY, LENGTH = "ˈ", "ˌ", "ː"
VOWELS = set("AIOWYQaiuæɑɒɔəɛɜɪʊʌᵊᵻ")
STRESSABLE = VOWELS - set("əᵊᵻ")
HELDOUT_MODULUS = 20
EM_ITERATIONS = 8
FIXTURE_WORDS = 399


def load_lexicon(data_dir, lang):
    words = {}
    gold = json.loads((data_dir / f"{lang}_gold.json").read_text("utf-8"))
    letter_names = {c: gold[c.upper()].lstrip(PRIMARY + SECONDARY) for c in LETTERS if isinstance(gold.get(c.upper()), str)}
    for kind in ("silver", "gold"):  # gold second: it overrides silver
        entries = gold if kind == "gold" else json.loads((data_dir / f"{lang}_{kind}.json").read_text("utf-8"))
        for word, value in entries.items():
            if isinstance(value, dict):
                value = value.get("DEFAULT")
            if re.fullmatch(r"[a-z']+", word) and isinstance(value, str) and value and not spelled_prefix(word, value, letter_names):
                words[word] = value
    return dict(sorted(words.items()))


def spelled_prefix(word, phonemes, letter_names):
    """Entries like "fname" (ˈɛfnˈAm) or "mkdir": a first letter read by its name before a
    consonant. Learned as letter-to-sound they turn "Fenwick" into ˈɛfnwɪk, so they are left out."""
    name = letter_names.get(word[0], "")
    plain = phonemes.replace(PRIMARY, "").replace(SECONDARY, "")
    return (
        len(word) > 1
        and word[1] not in "aeiouy'"
        and name[:1] in VOWELS
        and plain.startswith(name.replace(PRIMARY, "").replace(SECONDARY, ""))
    )


def is_heldout(word):
    return zlib.crc32(word.encode()) % HELDOUT_MODULUS == 0


def phoneme_units(phonemes):
    """Splits into units: [stress] phoneme [length]. A stress mark before a non-vowel (one
    slip in gb_gold) is dropped."""
    units = []
    i = 0
    while i < len(phonemes):
        unit = phonemes[i]
        if unit in (PRIMARY, SECONDARY):
            if i + 1 == len(phonemes) or phonemes[i + 1] not in VOWELS:
                i += 1
                continue
            unit += phonemes[i + 1]
        i += len(unit)
        if i < len(phonemes) and phonemes[i] == LENGTH:
            unit += LENGTH
            i += 1
        units.append(unit)
    return units


def unstressed(unit):
    return unit.lstrip(PRIMARY + SECONDARY)


# ---------------------------------------------------------------- alignment


def align(pairs):
    """pairs: [(word, units)]. Returns, per pair, one tuple of units per letter (or None when
    the word cannot be aligned with at most two units per letter)."""
    base = sorted({unstressed(u) for _, units in pairs for u in units})
    base_id = {u: i for i, u in enumerate(base)}
    letter_id = {c: i for i, c in enumerate(LETTERS)}
    groups = {}  # (letter count, unit count) -> word indices: each group is one numpy batch
    for index, (word, units) in enumerate(pairs):
        if len(units) <= 2 * len(word):
            groups.setdefault((len(word), len(units)), []).append(index)
    batches = []
    for (_, n_units), indices in sorted(groups.items()):
        letters = np.array([[letter_id[c] for c in pairs[i][0]] for i in indices], dtype=np.int64)
        units = np.array([[base_id[unstressed(u)] for u in pairs[i][1]] for i in indices], dtype=np.int64)
        batches.append((indices, letters, units.reshape(len(indices), n_units)))

    # P(chunk | letter); chunk ids: 0 empty, 1 + u one unit, 1 + U + u * U + v two units.
    # Start by favouring one unit per letter; EM sorts out the rest.
    prob = np.full((len(LETTERS), 1 + len(base) + len(base) ** 2), 0.05)
    prob[:, 0] = 0.5
    prob[:, 1:1 + len(base)] = 1.0
    prob /= prob.sum(1, keepdims=True)
    for _ in range(EM_ITERATIONS):
        counts = sum(expected_counts(prob, letters, units) for _, letters, units in batches)
        counts = counts.reshape(prob.shape) + 1e-6
        prob = counts / counts.sum(1, keepdims=True)

    chunks = [None] * len(pairs)
    for indices, letters, units in batches:
        for index, taken in zip(indices, best_paths(prob, letters, units)):
            if taken is not None:
                word_units = pairs[index][1]
                ends = np.cumsum(taken).tolist()
                chunks[index] = [tuple(word_units[end - k:end]) for k, end in zip(taken, ends)]
    return chunks


def emissions(prob, letters, units):
    """P(chunk | letter) for every letter of every word in the batch: taking nothing (e0),
    unit j (e1[..., j]), or units j, j+1 (e2[..., j]); also the two-unit chunk ids."""
    n_base = round((prob.shape[1] - 1) ** 0.5)
    e0 = prob[letters, 0]
    e1 = prob[letters[:, :, None], 1 + units[:, None, :]]
    pair_ids = 1 + n_base + units[:, :-1] * n_base + units[:, 1:]
    e2 = prob[letters[:, :, None], pair_ids[:, None, :]]
    return e0, e1, e2, pair_ids


def expected_counts(prob, letters, units):
    """Forward-backward over (letters read, units produced): the posterior count of each
    (letter, chunk) pair, flattened like prob."""
    n_words, n_letters = letters.shape
    n_units = units.shape[1]
    e0, e1, e2, pair_ids = emissions(prob, letters, units)
    fwd = np.zeros((n_words, n_letters + 1, n_units + 1))
    fwd[:, 0, 0] = 1
    for i in range(n_letters):
        fwd[:, i + 1] = fwd[:, i] * e0[:, i, None]
        fwd[:, i + 1, 1:] += fwd[:, i, :-1] * e1[:, i]
        fwd[:, i + 1, 2:] += fwd[:, i, :-2] * e2[:, i]
    bwd = np.zeros_like(fwd)
    bwd[:, n_letters, n_units] = 1
    for i in range(n_letters - 1, -1, -1):
        bwd[:, i] = bwd[:, i + 1] * e0[:, i, None]
        bwd[:, i, :-1] += bwd[:, i + 1, 1:] * e1[:, i]
        bwd[:, i, :-2] += bwd[:, i + 1, 2:] * e2[:, i]
    total = fwd[:, n_letters, n_units]
    weight = np.divide(1, total, out=np.zeros_like(total), where=total > 0)[:, None, None]
    row = (letters * prob.shape[1])[:, :, None]
    post0 = (fwd[:, :-1] * bwd[:, 1:]).sum(2, keepdims=True) * e0[:, :, None] * weight
    post1 = fwd[:, :-1, :-1] * bwd[:, 1:, 1:] * e1 * weight
    post2 = fwd[:, :-1, :-2] * bwd[:, 1:, 2:] * e2 * weight
    ids = np.concatenate([row.ravel(), (row + 1 + units[:, None, :]).ravel(), (row + pair_ids[:, None, :]).ravel()])
    return np.bincount(ids, np.concatenate([post0.ravel(), post1.ravel(), post2.ravel()]), prob.size)


def best_paths(prob, letters, units):
    """Viterbi: per word, how many units (0-2) each letter takes, or None if impossible."""
    n_words, n_letters = letters.shape
    n_units = units.shape[1]
    with np.errstate(divide="ignore"):
        l0, l1, l2 = (np.log(e) for e in emissions(prob, letters, units)[:3])
    best = np.full((n_words, n_letters + 1, n_units + 1), -np.inf)
    best[:, 0, 0] = 0
    took = np.zeros(best.shape, dtype=np.int64)  # units taken by the letter ending here
    for i in range(n_letters):
        best[:, i + 1] = best[:, i] + l0[:, i, None]
        for k, lk in ((1, l1), (2, l2)):
            candidate = best[:, i, :-k] + lk[:, i]
            better = candidate > best[:, i + 1, k:]
            best[:, i + 1, k:][better] = candidate[better]
            took[:, i + 1, k:][better] = k
    paths = []
    for b in range(n_words):
        if not np.isfinite(best[b, n_letters, n_units]):
            paths.append(None)
            continue
        end, taken = n_units, []
        for i in range(n_letters, 0, -1):
            taken.append(int(took[b, i, end]))
            end -= taken[-1]
        paths.append(taken[::-1])
    return paths


# ---------------------------------------------------------------- features and tree


class Model:
    """What the binary file holds, with the reader's lookup (mirrors lts.rs)."""

    def __init__(self, labels, history_class, feature, label, child_count, value):
        self.labels = labels  # chunk strings
        self.history_class = history_class
        self.has_primary = [PRIMARY in s for s in labels]
        self.feature, self.label, self.child_count, self.value = feature, label, child_count, value
        self.first_child = (1 + np.concatenate(([0], np.cumsum(child_count)[:-1]))).tolist()

    def classify(self, features):
        node = 0
        while self.child_count[node]:
            wanted = features[self.feature[node]]
            first = self.first_child[node]
            children = self.value[first:first + self.child_count[node]]
            if wanted not in children:
                break
            node = first + children.index(wanted)
        return self.label[node]

    def predict(self, word):
        codes = [LETTERS.index(c) for c in word.lower() if c in LETTERS]
        chosen = [0] * len(codes)
        primary_to_right = False
        for i in range(len(codes) - 1, -1, -1):
            features = context_features(codes, i, chosen, self.history_class, primary_to_right)
            chosen[i] = self.classify(features)
            primary_to_right |= self.has_primary[chosen[i]]
        return fix_stress("".join(self.labels[c] for c in chosen))


def context_features(codes, i, chosen, history_class, primary_to_right):
    """The feature vector of letter i; `chosen` holds the label ids already picked for the
    letters after i (decoding runs right to left)."""
    n = len(codes)
    features = [codes[j] if 0 <= j < n else OUTSIDE for j in range(i - WINDOW, i + WINDOW + 1)]
    features.append(history_class[chosen[i + 1]] if i + 1 < n else NO_CHUNK)
    features.append(history_class[chosen[i + 2]] if i + 2 < n else NO_CHUNK)
    features.append(int(primary_to_right))
    return features


def fix_stress(phonemes):
    """Exactly one primary stress: later primaries become secondary; with none, the first
    secondary is promoted, else the first stressable vowel gets one."""
    first = phonemes.find(PRIMARY)
    if first >= 0:
        return phonemes[:first + 1] + phonemes[first + 1:].replace(PRIMARY, SECONDARY)
    if SECONDARY in phonemes:
        return phonemes.replace(SECONDARY, PRIMARY, 1)
    for i, c in enumerate(phonemes):
        if c in STRESSABLE:
            return phonemes[:i] + PRIMARY + phonemes[i:]
    return phonemes


def xlogx(counts):
    counts = counts.astype(np.float64)
    return counts * np.log(np.maximum(counts, 1))


def build_tree(X, Y):
    """Grows the tree level by level (all nodes of a level in one numpy pass), then keeps only
    the nodes whose answer differs from their parent's or that lead to such nodes.
    Returns (feature, label, child_count, value) in breadth-first order, children by value."""
    n_samples, n_features = X.shape
    dense = np.empty_like(X)
    feature_values = []
    for f in range(n_features):
        values, dense[:, f] = np.unique(X[:, f], return_inverse=True)
        feature_values.append(values)
    n_values = int(dense.max()) + 1
    n_labels = int(Y.max()) + 1

    node_of = np.zeros(n_samples, dtype=np.int64)
    active = np.arange(n_samples)
    split_feature, majority, parent, value = [], [], [-1], [0]
    level_start, level_size = 0, 1
    while len(active):
        local = node_of[active] - level_start
        y = Y[active]
        keys, counts = np.unique(local * n_labels + y, return_counts=True)
        key_node, key_label = keys // n_labels, keys % n_labels
        order = np.lexsort((key_label, -counts, key_node))  # most frequent, then lowest label
        first = np.ones(len(order), dtype=bool)
        first[1:] = key_node[order][1:] != key_node[order][:-1]
        node_majority = np.zeros(level_size, dtype=np.int64)
        node_majority[key_node[order][first]] = key_label[order][first]
        majority_count = np.zeros(level_size, dtype=np.int64)
        majority_count[key_node[order][first]] = counts[order][first]
        size = np.bincount(local, minlength=level_size)
        label_entropy = xlogx(size) - np.bincount(key_node, xlogx(counts), level_size)
        majority.extend(node_majority.tolist())

        best = np.full(level_size, LEAF, dtype=np.int64)
        best_ratio = np.zeros(level_size)
        for f in range(n_features):
            node_value = local * n_values + dense[active, f]
            joint_keys, joint_counts = np.unique(node_value * n_labels + y, return_counts=True)
            joint = np.bincount(joint_keys // n_labels // n_values, xlogx(joint_counts), level_size)
            value_keys, value_counts = np.unique(node_value, return_counts=True)
            by_value = np.bincount(value_keys // n_values, xlogx(value_counts), level_size)
            gain = label_entropy - (by_value - joint)
            split_info = xlogx(size) - by_value
            ratio = np.where(split_info > 1e-9, gain / np.maximum(split_info, 1e-9), 0)
            better = (gain > 1e-9) & (ratio > best_ratio + 1e-12)
            best[better] = f
            best_ratio[better] = ratio[better]
        best[majority_count == size] = LEAF
        split_feature.extend(best.tolist())

        splits = best[local] != LEAF
        active = active[splits]
        if not len(active):
            break
        child_keys = local[splits] * n_values + dense[active, best[local[splits]]]
        children, child_of = np.unique(child_keys, return_inverse=True)
        next_start = level_start + level_size
        node_of[active] = next_start + child_of
        parent.extend((level_start + children // n_values).tolist())
        child_feature = best[children // n_values]
        original = np.empty(len(children), dtype=np.int64)
        for f in np.unique(child_feature):
            mask = child_feature == f
            original[mask] = feature_values[f][children[mask] % n_values]
        value.extend(original.tolist())
        level_start, level_size = next_start, len(children)
    split_feature.extend([LEAF] * (len(parent) - len(split_feature)))

    keep = np.zeros(len(parent), dtype=bool)
    keep[0] = True
    for node in range(len(parent) - 1, 0, -1):  # children come after their parents
        if keep[node] or majority[node] != majority[parent[node]]:
            keep[node] = keep[parent[node]] = True
    kept = np.nonzero(keep)[0]
    new_id = np.full(len(parent), -1)
    new_id[kept] = np.arange(len(kept))
    child_count = np.bincount(new_id[np.array(parent)[kept[1:]]], minlength=len(kept))
    feature = np.where(child_count > 0, np.array(split_feature)[kept], LEAF)
    return (feature.tolist(), np.array(majority)[kept].tolist(), child_count.tolist(),
            np.array(value)[kept].tolist())


def train(pairs_with_chunks):
    """pairs_with_chunks: [(word, chunks)] -> Model."""
    label_counts, class_counts = {}, {}
    for _, chunks in pairs_with_chunks:
        for chunk in chunks:
            text = "".join(chunk)
            label_counts[text] = label_counts.get(text, 0) + 1
            bare = "".join(unstressed(u) for u in chunk)
            class_counts[bare] = class_counts.get(bare, 0) + 1
    # Frequent first: ids are stable and small; ties by text keep it deterministic.
    labels = sorted(label_counts, key=lambda s: (-label_counts[s], s))
    classes = sorted(class_counts, key=lambda s: (-class_counts[s], s))
    assert len(classes) < NO_CHUNK and len(labels) < 65536
    label_id = {s: i for i, s in enumerate(labels)}
    class_id = {s: i for i, s in enumerate(classes)}
    history_class = [class_id[s.replace(PRIMARY, "").replace(SECONDARY, "")] for s in labels]

    rows, targets = [], []
    for word, chunks in pairs_with_chunks:
        codes = [LETTERS.index(c) for c in word]
        chosen = [label_id["".join(chunk)] for chunk in chunks]
        primary_to_right = False
        for i in range(len(codes) - 1, -1, -1):
            rows.append(context_features(codes, i, chosen, history_class, primary_to_right))
            targets.append(chosen[i])
            primary_to_right |= PRIMARY in labels[chosen[i]]
    tree = build_tree(np.array(rows, dtype=np.int64), np.array(targets, dtype=np.int64))
    return Model(labels, history_class, *tree)


# ---------------------------------------------------------------- file, evaluation, main


def serialize(model):
    payload = bytearray(struct.pack("<BB", WINDOW, FEATURE_COUNT))
    payload += struct.pack("<H", len(model.labels))
    for text in model.labels:
        encoded = text.encode("utf-8")
        payload += struct.pack("<B", len(encoded)) + encoded
    payload += bytes(model.history_class)
    payload += struct.pack("<I", len(model.feature))
    payload += bytes(model.feature)
    payload += np.array(model.label, dtype="<u2").tobytes()
    payload += bytes(model.child_count)
    payload += bytes(model.value)
    return MAGIC + struct.pack("<II", VERSION, len(payload)) + zlib.compress(bytes(payload), 9)


def edit_distance(a, b):
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def scores(rows):
    """rows: [(word, reference, prediction)] -> (word accuracy, phoneme error rate), where PER
    is the character edit distance (stress and length marks count) over reference length."""
    correct = sum(ref == pred for _, ref, pred in rows)
    errors = sum(edit_distance(pred, ref) for _, ref, pred in rows)
    return correct / len(rows), errors / sum(len(ref) for _, ref, _ in rows)


def run(lang, args):
    lexicon = load_lexicon(args.misaki_data, lang)
    train_words = [w for w in lexicon if not is_heldout(w)]
    pairs = [(w, phoneme_units(lexicon[w])) for w in train_words]
    chunks = align(pairs)
    aligned = [(w, c) for (w, _), c in zip(pairs, chunks) if c is not None]
    model = train(aligned)
    data = serialize(model)
    out = args.out / f"lts-{lang}.bin"
    out.write_bytes(data)

    heldout = [(w, lexicon[w], model.predict(w)) for w in lexicon if is_heldout(w)]
    accuracy, per = scores(heldout)
    step = max(1, -(-len(heldout) // FIXTURE_WORDS))
    sample = heldout[::step][:FIXTURE_WORDS]
    fixture = args.fixtures / f"lts-heldout-{lang}.tsv"
    fixture.write_text("word\treference\tprediction\n" + "".join(f"{w}\t{r}\t{p}\n" for w, r, p in sample), "utf-8")
    sample_accuracy, sample_per = scores(sample)
    print(f"{lang}: {len(lexicon)} words, {len(aligned)} trained ({len(train_words) - len(aligned)} unalignable), "
          f"{len(model.labels)} labels, {len(model.feature)} nodes, {out} {len(data)} bytes\n"
          f"    held out {len(heldout)}: word accuracy {accuracy:.4f}, PER {per:.4f}; "
          f"fixture sample {len(sample)}: word accuracy {sample_accuracy:.4f}, PER {sample_per:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misaki-data", required=True, type=Path, help="misaki/data from the misaki 0.9.4 wheel")
    parser.add_argument("--out", type=Path, default=Path("data/phonemize"))
    parser.add_argument("--fixtures", type=Path, default=Path("tests/fixtures/phonemize"))
    parser.add_argument("--lang", choices=["us", "gb"], action="append", help="default: both")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.fixtures.mkdir(parents=True, exist_ok=True)
    for lang in args.lang or ["us", "gb"]:
        run(lang, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
