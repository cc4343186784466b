"""Decode client image bytes into an RGB array, safely, in one place.

Handles JPEG, PNG, WebP and BMP; honours EXIF orientation; converts grey, palette, alpha and
CMYK images to RGB; refuses oversized inputs (bytes and pixels, the latter before decoding so a
decompression bomb never allocates) with typed errors.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from services.shared.errors import ImageTooLargeError, InvalidImageError

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP")
MIN_SIDE = 2
DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
# Pillow refuses (warns, then raises) past its own bomb limit whatever ours says: a setting
# above it could never be honoured, so the settings stop there
HIGHEST_MAX_IMAGE_PIXELS = int(Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_IMAGE_PIXELS)
ORIENTATION_TAG = 0x0112
ORIENTATIONS = {  # EXIF orientation -> the transpose that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ImageLimits:
    """Upper bounds for one input image."""

    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS


def decode_image(data: bytes, limits: ImageLimits | None = None) -> NDArray[np.uint8]:
    """Return the image as an (H, W, 3) uint8 RGB array, EXIF orientation applied."""
    limits = limits or ImageLimits()
    if not data:
        raise InvalidImageError("the image is empty")
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"the image is {len(data)} bytes; the limit is {limits.max_bytes} bytes"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=list(SUPPORTED_FORMATS))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageTooLargeError(
                    f"the image is {width}x{height} pixels; the limit is {limits.max_pixels} pixels"
                )
            if width < MIN_SIDE or height < MIN_SIDE:
                raise InvalidImageError(f"the image is {width}x{height} pixels: too small")
            image.load()
            rgb = _to_rgb(_upright(image))
    except (ImageTooLargeError, InvalidImageError):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise ImageTooLargeError("the image has too many pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(
            "the data is not a readable JPEG, PNG, WebP or BMP image"
        ) from error
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF (or XMP) orientation says; unchanged without one.

    Not ``ImageOps.exif_transpose``: it also rewrites the EXIF block, and that fails
    (``struct.error``, ``TypeError``) on tags stored with another type than Pillow expects,
    which phone photos have; only the pixels are needed here, and unreadable metadata is no
    reason to refuse a photo."""
    try:
        orientation = image.getexif().get(ORIENTATION_TAG)
    except Exception:  # any failure to parse metadata: the pixels as stored
        return image
    method = ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit grey, as Pillow converts 16-bit colour: a fixed scale (not by the image's own
        # peak, which brightened a dark photo to full white and fooled the exposure checks)
        array = np.asarray(image, dtype=np.float64) / 257.0
        grey = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    return image.convert("RGB")


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header alone (no pixel decoding).

    Raises InvalidImageError for unreadable data, ImageTooLargeError for a decompression bomb.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(SUPPORTED_FORMATS)) as image:
            return image.size
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError("the image has too many pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImageError(
            "the data is not a readable JPEG, PNG, WebP or BMP image"
        ) from error
