"""Draws the PWA's PNG icons (www/icon-192.png, www/icon-512.png) from favicon.svg's design:
a dark rounded square with a green waveform line. Pure Python (zlib), no image library.
Usage: python3 tools/icons/make_icons.py"""
import math
import struct
import zlib
from pathlib import Path

BACKGROUND = (0x1D, 0x1D, 0x1F)
LINE = (0x7F, 0xE0, 0xA0)
# favicon.svg's 32×32 design: corner radius 6, the path, stroke 2.5
RADIUS, STROKE = 6.0, 2.5
POINTS = [(5, 16), (9, 16), (12, 8), (16, 24), (20, 12), (23, 16), (27, 16)]


def segment_distance(px, py, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def inside_rounded_square(x, y):
    cx = min(max(x, RADIUS), 32 - RADIUS)
    cy = min(max(y, RADIUS), 32 - RADIUS)
    return math.hypot(x - cx, y - cy) <= RADIUS


def pixel(size, i, j):
    samples = 4  # 4×4 supersampling for smooth edges
    coverage_bg = coverage_line = 0
    for si in range(samples):
        for sj in range(samples):
            x = (j + (sj + 0.5) / samples) * 32 / size
            y = (i + (si + 0.5) / samples) * 32 / size
            if inside_rounded_square(x, y):
                coverage_bg += 1
                if min(segment_distance(x, y, a, b) for a, b in zip(POINTS, POINTS[1:])) <= STROKE / 2:
                    coverage_line += 1
    n = samples * samples
    alpha = coverage_bg / n
    mix = coverage_line / max(coverage_bg, 1)
    rgb = [round(bg * (1 - mix) + ln * mix) for bg, ln in zip(BACKGROUND, LINE)]
    return bytes(rgb + [round(alpha * 255)])


def png(size):
    rows = b"".join(b"\0" + b"".join(pixel(size, i, j) for j in range(size)) for i in range(size))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    www = Path(__file__).resolve().parents[2] / "www"
    for size in (192, 512):
        (www / f"icon-{size}.png").write_bytes(png(size))
        print(f"www/icon-{size}.png")
