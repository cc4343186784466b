"""Test images: real photos shipped by scikit-image, and generated edge cases."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from numpy.typing import NDArray
from PIL import Image


def astronaut() -> NDArray[np.uint8]:
    """scikit-image's astronaut photo (512x512 RGB, one face)."""
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.uint8)


def encode(array: NDArray[np.uint8], fmt: str = "JPEG", **options: object) -> bytes:
    """Encode an RGB/L/RGBA array with Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def astronaut_jpeg() -> bytes:
    """The astronaut as JPEG bytes."""
    return encode(astronaut(), "JPEG", quality=95)


def no_face_jpeg() -> bytes:
    """A smooth gradient with no face."""
    y, x = np.mgrid[0:480, 0:640]
    image = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    return encode(image)


def group_photo(count: int) -> NDArray[np.uint8]:
    """count copies of the astronaut's head tiled on a grey canvas (a synthetic group photo)."""
    head = astronaut()[20:250, 130:330]
    columns = 4
    rows = (count + columns - 1) // columns
    canvas = np.full((rows * 260, columns * 230, 3), 128, dtype=np.uint8)
    for index in range(count):
        r, c = divmod(index, columns)
        canvas[r * 260 + 15 : r * 260 + 245, c * 230 + 15 : c * 230 + 215] = head
    return canvas


def big_corner_small_centre() -> tuple[NDArray[np.uint8], tuple[int, int]]:
    """The astronaut's head large in the top-left corner and small in the middle of a
    900x900 canvas; also returns the centre of the small head."""
    head = Image.fromarray(astronaut()[20:250, 130:330])
    canvas = np.full((900, 900, 3), 128, dtype=np.uint8)
    large = np.asarray(head.resize((400, 460)))
    small = np.asarray(head.resize((200, 230)))
    canvas[:460, :400] = large
    canvas[335:565, 350:550] = small
    return canvas, (450, 450)


def exif_rotated_jpeg(array: NDArray[np.uint8], orientation: int = 6) -> bytes:
    """Stored pixels are the image rotated so that applying EXIF orientation restores array.

    Orientation 6 means "rotate 90 degrees clockwise to display": we store the display image
    rotated 90 degrees counter-clockwise.
    """
    stored = np.ascontiguousarray(np.rot90(array, k=1))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def cmyk_jpeg(array: NDArray[np.uint8]) -> bytes:
    """A CMYK JPEG of the image."""
    buffer = io.BytesIO()
    Image.fromarray(array).convert("CMYK").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def png_with_alpha(array: NDArray[np.uint8]) -> bytes:
    """An RGBA PNG with a half-transparent border."""
    alpha = np.full(array.shape[:2], 255, dtype=np.uint8)
    alpha[:20] = 0
    return encode(np.dstack([array, alpha]), "PNG")


def png_bomb(side: int = 20000) -> bytes:
    """A tiny 1-bit PNG declaring side x side pixels (a decompression bomb)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )
