"""`tritone serve` with the real model, through the official OpenAI Python client.

Checks: the WAV the client gets parses and Whisper transcribes it (WER <= --max-wer); a
streamed PCM response delivers its first bytes well before it ends; a bad request is a 4xx in
OpenAI's error shape (the client raises BadRequestError with the server's code); SIGTERM exits 0.
"""

import argparse
import io
import os
import sys
import time
import wave

import numpy as np
import openai

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "asr"))
from asrlib import Asr, wer  # noqa: E402
from server import Server  # noqa: E402

TEXT = "The quick brown fox jumps over the lazy dog. Then it runs into the forest and sleeps until morning."
LONG = " ".join([TEXT] * 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tritone", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--whisper", required=True)
    ap.add_argument("--max-wer", type=float, default=0.1)
    args = ap.parse_args()
    failures = []
    with Server(args.tritone, args.model, "--workers", "2", "--backend", "cpu") as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=600)
        models = [m.id for m in client.models.list()]
        print(f"models: {models}")

        t = time.perf_counter()
        speech = client.audio.speech.create(model="tts-1", voice=args.voice, input=TEXT, response_format="wav", extra_body={"seed": 1})
        elapsed = time.perf_counter() - t
        with wave.open(io.BytesIO(speech.content)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        seconds = len(samples) / 24000
        print(f"wav: {seconds:.2f} s of audio in {elapsed:.1f} s")
        path = "/tmp/tritone-openai-check.wav"
        with open(path, "wb") as f:
            f.write(speech.content)
        heard = Asr(args.whisper, threads=2).transcribe(path)
        error = wer(TEXT, heard)
        print(f"Whisper heard: {heard!r} (WER {error:.1%})")
        if error > args.max_wer:
            failures.append(f"WER {error:.1%} > {args.max_wer:.0%}")

        t = time.perf_counter()
        first = None
        size = 0
        with client.audio.speech.with_streaming_response.create(model="tts-1", voice=args.voice, input=LONG, response_format="pcm") as response:
            for chunk in response.iter_bytes():
                if first is None and chunk:
                    first = time.perf_counter() - t
                size += len(chunk)
        total = time.perf_counter() - t
        print(f"pcm stream: first bytes after {first:.2f} s, {size / 48000:.2f} s of audio after {total:.2f} s")
        if first is None or first * 2 > total:
            failures.append(f"streaming: first bytes after {first} s of {total:.2f} s")

        try:
            client.audio.speech.create(model="tts-1", voice="nobody", input="Hi")
            failures.append("an unknown voice was accepted")
        except openai.BadRequestError as e:
            code = e.body.get("code") if isinstance(e.body, dict) else None
            print(f"unknown voice: {e.status_code} {code}")
            if code != "unknown_voice":
                failures.append(f"unknown voice gave code {code!r}")

        status = server.stop()
        print(f"SIGTERM: exit status {status}")
        if status != 0:
            failures.append(f"exit status {status} after SIGTERM")
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
