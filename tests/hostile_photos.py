"""Uploads an attacker would send, shared by the tests of every form with a photo
(web/photos.py is their one gate): a JPEG cut off in its header, a JPEG cut off in its
data, and a PNG of a few hundred KB that declares 9400 × 9400 pixels."""

import functools
import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


def header_truncated_jpeg(name="foto.jpg") -> SimpleUploadedFile:
    """The start of a JPEG, cut off before its frame header: Pillow's open fails on it."""
    return SimpleUploadedFile(name, _jpeg()[:150], content_type="image/jpeg")


def data_truncated_jpeg(name="foto.jpg") -> SimpleUploadedFile:
    """A JPEG with a whole header and half its data: opens, fails while decoding."""
    data = _jpeg()
    return SimpleUploadedFile(name, data[: len(data) // 2], content_type="image/jpeg")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def pixel_bomb_png(side=9400) -> bytes:
    """A valid RGB PNG of side × side black pixels: a few hundred KB of file, side² pixels
    (9400² ≈ 88 megapixels, ≈ 350 MB once decoded), under Pillow's own bomb limit."""
    row = b"\0" * (1 + 3 * side)  # filter byte and the pixels of one row
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def pixel_bomb_upload(name="foto.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pixel_bomb_png(), content_type="image/png")
