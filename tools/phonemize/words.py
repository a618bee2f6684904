"""Print misaki's phonemes for words or sentences given on the command line (debug aid).

Same setup as the reference generator (misaki_setup.py); `--tagger spacy` uses spaCy's
en_core_web_sm instead of the rule tagger. Each argument is
phonemized separately; `-v` also lists every token with its tag, phonemes
and misaki's rating (2 = eSpeak fallback, 3 = silver, 4 = gold/rule).

Usage: target/phonemizer-env/bin/python tools/phonemize/words.py --lang gb [--tagger spacy] "Hello there." read
"""

import argparse
import sys

from misaki_setup import LANGS, TAGGERS, build_g2p, phonemize


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=LANGS, default="us")
    parser.add_argument("--tagger", choices=TAGGERS, default="rule", help="rule tagger or spaCy's en_core_web_sm")
    parser.add_argument("-v", "--verbose", action="store_true", help="show per-token details")
    parser.add_argument("texts", nargs="+", metavar="TEXT")
    args = parser.parse_args()

    g2p, _ = build_g2p(args.lang, args.tagger)
    for text in args.texts:
        print(f"{text}\t{phonemize(g2p, text)}")
        if args.verbose:
            _, tokens = g2p(text)
            for token in tokens:
                # misaki stores the rating on `token.rating` for whole words, `token._.rating` otherwise.
                rating = getattr(token, "rating", None) or token._.rating
                print(f"    {token.text!r}\ttag={token.tag!r}\t{token.phonemes!r}\trating={rating}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
