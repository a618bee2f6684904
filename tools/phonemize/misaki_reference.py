"""Generate misaki reference phonemes for the phonemizer accuracy corpus.

Reads tools/phonemize/corpus.tsv (`category<TAB>sentence`, one per line), runs
misaki 0.9.4's English G2P on every sentence the way Kokoro does (see
misaki_setup.py) and writes, for each of en-US and en-GB, a header line
`category<TAB>sentence<TAB>phonemes` followed by one row per corpus sentence to

  tests/fixtures/phonemize/reference-{us,gb}.tsv         misaki with the rule tagger
                                                         (blank spaCy pipeline + rule_tag)
  tests/fixtures/phonemize/reference-tagged-{us,gb}.tsv  misaki with spaCy's real tagger
                                                         (en_core_web_sm 3.8.0, as in Kokoro)

`--tagger rule` or `--tagger spacy` writes only one of the two sets (default: both).

Prints per-category sentence counts and how many words misaki handed to its
eSpeak fallback (those phonemes come from espeak-ng, not misaki's lexicon).

With `--tritone PATH` (the `tritone` CLI, built with `--features cli`) it also writes
reference-normalized-{us,gb}.tsv and reference-tagged-normalized-{us,gb}.tsv
(`category, sentence, normalized, phonemes`): each sentence
first rewritten by tritone's normalizer (`tritone phonemize --normalize-only`), then given to
misaki. That holds the normalizer's output fixed, as the model tests hold each stage's input
fixed: it measures the G2P (lexicon, rules, letter-to-sound) on text where tritone reads
dates, times, units and abbreviations out and misaki would not. The normalizer itself is
tested by exact expected strings in src/phonemize/normalize.rs.

Usage: target/phonemizer-env/bin/python tools/phonemize/misaki_reference.py [--tritone target/debug/tritone]
                                                                          [--tagger rule|spacy|both]
"""

import argparse
import collections
import subprocess
import sys
from pathlib import Path

from misaki_setup import LANGS, TAGGERS, build_g2p, phonemize

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER = ("category", "sentence", "phonemes")
NORMALIZED_HEADER = ("category", "sentence", "normalized", "phonemes")
# File name prefix per tagger: reference-{lang}.tsv / reference-tagged-{lang}.tsv, and
# reference-normalized-{lang}.tsv / reference-tagged-normalized-{lang}.tsv.
PREFIX = {"rule": "reference", "spacy": "reference-tagged"}


def read_corpus(path):
    rows = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        category, tab, sentence = line.partition("\t")
        if not tab or not category or not sentence or "\t" in sentence:
            raise ValueError(f"{path}:{line_number}: expected 'category<TAB>sentence'")
        rows.append((category, sentence))
    return rows


def normalize(tritone, lang, sentences):
    """tritone's normalizer output, one line per sentence."""
    out = subprocess.run(
        [tritone, "phonemize", "--normalize-only", "--lang", f"en-{lang}"],
        input="\n".join(sentences) + "\n", capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    if len(out) != len(sentences):
        raise RuntimeError(f"{tritone} returned {len(out)} lines for {len(sentences)} sentences")
    return out


def write_reference(path, rows, header=HEADER):
    # Plain tab-joined lines (no CSV quoting): sentences contain quote characters.
    lines = ["\t".join(header)]
    for row in rows:
        if any("\t" in cell or "\n" in cell for cell in row):
            raise ValueError(f"cell contains a tab or newline: {row!r}")
        lines.append("\t".join(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO_ROOT / "tools/phonemize/corpus.tsv")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "tests/fixtures/phonemize")
    parser.add_argument("--tritone", type=Path, help="tritone CLI: also write the *-normalized-*.tsv references")
    parser.add_argument(
        "--tagger", choices=TAGGERS + ("both",), default="both",
        help="rule: blank spaCy + rule tagger (reference-*.tsv); spacy: en_core_web_sm "
        "(reference-tagged-*.tsv); both (default)",
    )
    args = parser.parse_args()

    corpus = read_corpus(args.corpus)
    per_category = collections.Counter(category for category, _ in corpus)
    print(f"{len(corpus)} sentences:", ", ".join(f"{c}={n}" for c, n in sorted(per_category.items())))

    taggers = TAGGERS if args.tagger == "both" else (args.tagger,)
    for lang in LANGS:
        normalized = None
        if args.tritone:
            normalized = normalize(args.tritone, lang, [sentence for _, sentence in corpus])
        for tagger in taggers:
            g2p, fallback = build_g2p(lang, tagger)
            prefix = PREFIX[tagger]
            rows = [(category, sentence, phonemize(g2p, sentence)) for category, sentence in corpus]
            out_path = args.out_dir / f"{prefix}-{lang}.tsv"
            write_reference(out_path, rows)
            fallback_words = collections.Counter(fallback.words)
            print(f"[{lang} {tagger}] wrote {out_path}")
            print(
                f"[{lang} {tagger}] eSpeak fallback: {len(fallback.words)} words "
                f"({len(fallback_words)} distinct): "
                + ", ".join(f"{w}×{n}" if n > 1 else w for w, n in sorted(fallback_words.items()))
            )
            if normalized is not None:
                fallback.words.clear()
                rows = [(c, s, n, phonemize(g2p, n)) for (c, s), n in zip(corpus, normalized)]
                out_path = args.out_dir / f"{prefix}-normalized-{lang}.tsv"
                write_reference(out_path, rows, NORMALIZED_HEADER)
                print(
                    f"[{lang} {tagger}] wrote {out_path}; eSpeak fallback on the normalized text: "
                    f"{len(fallback.words)} words"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
