#!/usr/bin/env python3
"""Builds data/phonemize/lexicon.bin from misaki's pronunciation lexicons (Apache-2.0).

The lexicons come from the `misaki` wheel on PyPI (misaki/data/{us,gb}_{gold,silver}.json).
Output: zlib-compressed payload (see src/phonemize/lexicon.rs for the reader):

    b"TTLX" | u32 LE version (1) | u32 LE entry count | entries

one entry per line, sorted by the UTF-8 bytes of the word:

    word \t us_gold \t us_silver \t gb_gold \t gb_silver \n

A field is empty when that lexicon lacks the word; a GB field is `=` when it equals the US
field in the same position (a third of the words). A part-of-speech entry is written
`{TAG=phonemes|TAG=phonemes}` with DEFAULT first; `-` stands for misaki's None (no
pronunciation for that tag). All four lexicons share one file so that zlib sees the US and GB
pronunciations of a word side by side.

Usage: python tools/phonemize/build_lexicon.py --misaki-data DIR [--out data/phonemize/lexicon.bin]
"""
import argparse
import json
import struct
import zlib
from pathlib import Path

LEXICONS = ["us_gold", "us_silver", "gb_gold", "gb_silver"]
FORBIDDEN = set("\t\n{}|=-")  # separators; "=" alone also means "as in US"


def encode(value):
    if value is None:
        return ""
    if isinstance(value, str):
        assert value and not (set(value) & FORBIDDEN), value
        return value
    tags = sorted(value, key=lambda t: (t != "DEFAULT", t))
    parts = []
    for tag in tags:
        ps = value[tag]
        assert ps is None or (ps and not (set(ps) & FORBIDDEN)), (tag, ps)
        parts.append(f"{tag}={'-' if ps is None else ps}")
    return "{" + "|".join(parts) + "}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misaki-data", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path("data/phonemize/lexicon.bin"))
    args = parser.parse_args()

    lexicons = [json.loads((args.misaki_data / f"{name}.json").read_text("utf-8")) for name in LEXICONS]
    words = sorted(set().union(*lexicons), key=lambda w: w.encode("utf-8"))
    lines = []
    for word in words:
        assert word and not (set(word) & set("\t\n")), word
        fields = [encode(lex.get(word)) for lex in lexicons]
        for gb, us in ((2, 0), (3, 1)):
            if fields[gb] and fields[gb] == fields[us]:
                fields[gb] = "="
        lines.append("\t".join([word] + fields) + "\n")
    payload = b"TTLX" + struct.pack("<II", 1, len(words)) + "".join(lines).encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(zlib.compress(payload, 9))
    print(f"{len(words)} words, {len(payload)} bytes → {args.out} {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
