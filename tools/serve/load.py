"""A bounded load test of `tritone serve` on loopback: a fixed number of speech requests at each
concurrency level; prints requests per second, p50/p95 latency and time to first byte (JSON
with --json). Streams `pcm`, so the first byte is the first synthesized sentence.

    target/asrenv/bin/python tools/serve/load.py --tritone target/release/tritone \\
        --model target/real/kokoro-f16.gguf --requests 8 --concurrency 1 2 4
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from server import Server  # noqa: E402

TEXT = "Thanks for calling. Your order has shipped."


def one_request(host, port, voice):
    body = json.dumps({"model": "tts-1", "input": TEXT, "voice": voice, "response_format": "pcm"})
    conn = http.client.HTTPConnection(host, port, timeout=600)
    t = time.perf_counter()
    conn.request("POST", "/v1/audio/speech", body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    first = response.read(1)
    ttfb = time.perf_counter() - t
    rest = response.read()
    latency = time.perf_counter() - t
    conn.close()
    return response.status, ttfb, latency, len(first) + len(rest)


def level(host, port, voice, requests, concurrency):
    results, lock = [], threading.Lock()
    remaining = list(range(requests))

    def client():
        while True:
            with lock:
                if not remaining:
                    return
                remaining.pop()
            r = one_request(host, port, voice)
            with lock:
                results.append(r)

    t = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    ok = [r for r in results if r[0] == 200]
    if not ok:
        sys.exit(f"no request succeeded at {concurrency} clients: statuses {[r[0] for r in results]}")
    pct = lambda xs, q: statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]
    lat, ttfb = [r[2] for r in ok], [r[1] for r in ok]
    audio = sum(r[3] for r in ok) / 48000
    return {
        "concurrency": concurrency, "requests": requests, "ok": len(ok), "seconds": wall,
        "requests_per_second": len(ok) / wall, "latency_p50": pct(lat, 50), "latency_p95": pct(lat, 95),
        "ttfb_p50": pct(ttfb, 50), "ttfb_p95": pct(ttfb, 95), "audio_seconds_per_second": audio / wall,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tritone", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--voice", default=None, help="default: the model's first voice")
    ap.add_argument("--requests", type=int, default=8)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--workers", type=int, default=None, help="server workers (default: its default, one per core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    extra = ["--backend", "cpu", "--max-queue", "64"] + (["--workers", str(args.workers)] if args.workers else [])
    with Server(args.tritone, args.model, *extra) as server:
        conn = http.client.HTTPConnection(server.host, server.port)
        conn.request("GET", "/v1/audio/voices")
        voice = args.voice or json.loads(conn.getresponse().read())["voices"][0]
        rows = [level(server.host, server.port, voice, args.requests, c) for c in args.concurrency]
        server.stop()
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{args.requests} requests per level, {TEXT!r}")
    print("clients  ok  req/s  latency p50/p95 s  first byte p50/p95 s  audio s/s")
    for r in rows:
        print(f"{r['concurrency']:7} {r['ok']:3} {r['requests_per_second']:6.2f}  {r['latency_p50']:7.2f} {r['latency_p95']:7.2f}  "
              f"{r['ttfb_p50']:9.2f} {r['ttfb_p95']:8.2f}  {r['audio_seconds_per_second']:8.2f}")
    if any(r["ok"] != r["requests"] for r in rows):
        sys.exit("some requests failed")


if __name__ == "__main__":
    main()
