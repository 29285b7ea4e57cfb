"""Is a screenshot blank? A PNG decoder for what Chrome writes, in the
standard library only (zlib): 8-bit RGB or RGBA, not interlaced."""

from __future__ import annotations

import collections
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(AssertionError):
    pass


def decode(data: bytes):
    """Returns (width, height, channels, rows): rows is a list of bytes, one
    per scanline, unfiltered (channels bytes per pixel)."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG (bad signature)")
    pos = len(SIGNATURE)
    ihdr = None
    idat = []
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError("truncated chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise PngError(f"truncated {kind!r} chunk")
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise PngError(f"bad CRC in {kind!r} chunk")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if ihdr is None:
        raise PngError("no IHDR chunk")
    width, height, depth, colour, _compression, _filter, interlace = ihdr
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise PngError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace} "
                       "(expected 8-bit RGB or RGBA, not interlaced)")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PngError(f"image data is {len(raw)} bytes, expected {height * (stride + 1)}")
    rows = []
    prev = bytes(stride)
    bpp = channels
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 0:
            pass
        elif ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    pred = a
                elif pb <= pc:
                    pred = b
                else:
                    pred = c
                line[i] = (line[i] + pred) & 0xFF
        else:
            raise PngError(f"bad filter type {ftype} on row {y}")
        prev = bytes(line)
        rows.append(prev)
    return width, height, channels, rows


def colour_stats(data: bytes):
    """(width, height, distinct colours, share of the most common colour)."""
    width, height, channels, rows = decode(data)
    counts = collections.Counter()
    for row in rows:
        # Count RGB triples (alpha ignored): slices of the row per pixel.
        counts.update(row[i:i + 3] for i in range(0, len(row), channels))
    top = counts.most_common(1)[0][1] if counts else 0
    return width, height, len(counts), top / max(1, width * height)


def assert_not_blank(data: bytes, what: str = "screenshot", min_colours: int = 8,
                     max_share: float = 0.97):
    """Fails unless the image has more than a few colours and no colour covers
    more than max_share of it."""
    width, height, distinct, share = colour_stats(data)
    if distinct < min_colours:
        raise PngError(f"{what} ({width}x{height}) looks blank: only {distinct} distinct colours")
    if share > max_share:
        raise PngError(f"{what} ({width}x{height}) looks blank: one colour covers "
                       f"{share:.1%} of it (limit {max_share:.0%})")
    return width, height, distinct, share
