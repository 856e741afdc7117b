"""Draw the app icons (PNG + ICO) with the standard library only. Run: python tools/make_icons.py

The design matches static/icons/icon.svg: a red rounded square, a white wallet, a gold coin.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "qianbao" / "web" / "static" / "icons"
RED = (200, 16, 46)
WHITE = (255, 255, 255)
GOLD = (244, 180, 0)


def _inside_round_rect(
    x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float
) -> bool:
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def color_at(u: float, v: float, maskable: bool) -> tuple[int, int, int, int]:
    """u, v in 0..100 (the SVG's viewBox)."""
    if maskable:
        bg = True
        # keep the glyph inside the 80% safe zone
        u = 50 + (u - 50) / 0.8
        v = 50 + (v - 50) / 0.8
    else:
        bg = _inside_round_rect(u, v, 0, 0, 100, 100, 22)
    if (u - 66) ** 2 + (v - 55) ** 2 <= 9**2:
        return (*GOLD, 255)
    if _inside_round_rect(u, v, 20, 32, 80, 76, 8):
        return (*WHITE, 255)
    if _inside_round_rect(u, v, 26, 24, 70, 36, 5):
        return (255, 205, 210, 255)
    return (*RED, 255) if bg else (0, 0, 0, 0)


def render(size: int, maskable: bool = False, ss: int = 4) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    u = (px + (sx + 0.5) / ss) / size * 100
                    v = (py + (sy + 0.5) / ss) / size * 100
                    c = color_at(u, v, maskable)
                    for i in range(4):
                        acc[i] += c[i] * (c[3] if i < 3 else 255)
            n = ss * ss
            alpha = acc[3] // (255 * n)
            rgb = [min(255, acc[i] // (alpha * n)) for i in range(3)] if alpha else [0, 0, 0]
            row.extend([*rgb, alpha])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(pngs: dict[int, bytes]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, data in pngs.items():
        entries += struct.pack(
            "<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(blobs)
        )
        blobs += data
    return header + entries + blobs


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(render(size, ss=2 if size > 256 else 3))
    (OUT / "icon-maskable-512.png").write_bytes(render(512, maskable=True, ss=2))
    (OUT / "favicon.ico").write_bytes(ico({16: render(16), 32: render(32), 48: render(48)}))


if __name__ == "__main__":
    main()
