"""decode_image: formats, modes, orientation, limits and typed errors."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageOps
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from gateway.core.config import GatewaySettings
from services.shared.errors import ImageTooLargeError, InvalidImageError
from services.shared.imaging import (
    HIGHEST_MAX_IMAGE_PIXELS,
    ImageLimits,
    decode_image,
    image_size,
)
from services.shared.settings import ServiceSettings
from tests.helpers import images


def test_jpeg_roundtrip_shape() -> None:
    array = decode_image(images.astronaut_jpeg())
    assert array.shape == (512, 512, 3) and array.dtype == np.uint8


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP"])
def test_lossless_formats_are_exact(fmt: str) -> None:
    source = images.astronaut()
    options = {"lossless": True} if fmt == "WEBP" else {}
    assert np.array_equal(decode_image(images.encode(source, fmt, **options)), source)


def test_grey_becomes_three_channels() -> None:
    grey = np.arange(64 * 48, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    decoded = decode_image(images.encode(grey, "PNG"))
    assert decoded.shape == (48, 64, 3)
    assert np.array_equal(decoded[:, :, 0], grey) and np.array_equal(decoded[:, :, 2], grey)


def test_alpha_is_composited_on_white() -> None:
    decoded = decode_image(images.png_with_alpha(images.astronaut()))
    assert decoded.shape == (512, 512, 3)
    assert (decoded[:20] == 255).all()


def test_cmyk_jpeg_is_converted() -> None:
    decoded = decode_image(images.cmyk_jpeg(images.astronaut()))
    assert decoded.shape == (512, 512, 3)
    assert np.abs(decoded.astype(int) - images.astronaut().astype(int)).mean() < 20


def test_exif_orientation_is_applied() -> None:
    source = images.astronaut()[:, :400]
    decoded = decode_image(images.exif_rotated_jpeg(source))
    assert decoded.shape == source.shape
    assert np.abs(decoded.astype(int) - source.astype(int)).mean() < 8


@pytest.mark.parametrize("orientation", range(10))
def test_every_exif_orientation_matches_pillows_own_transpose(orientation: int) -> None:
    source = Image.fromarray(np.random.default_rng(0).integers(0, 255, (5, 7, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = io.BytesIO()
    source.save(data, "PNG", exif=exif.tobytes())
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data.getvalue())).convert("RGB"))
    assert np.array_equal(decode_image(data.getvalue()), np.asarray(expected))


def test_a_mistyped_exif_tag_does_not_refuse_the_photo() -> None:
    """Orientation 6 beside a tag stored with another type than Pillow expects (SampleFormat
    as text), as some phones write: rewriting the EXIF (Pillow's exif_transpose) raised
    struct.error, an INTERNAL error in every service; the photo is turned and decoded."""
    entries = [(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (0x0153, 2, 2, b"a\0\0\0")]
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(
        struct.pack("<HHI", tag, kind, count) + value for tag, kind, count, value in entries
    )
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(data, "JPEG", exif=b"Exif\0\0" + tiff)
    assert decode_image(data.getvalue()).shape == (64, 48, 3)  # 64 wide stored, turned upright


def test_16_bit_grey_keeps_its_exposure() -> None:
    """A dark 16-bit grey PNG was scaled by its own brightest pixel: to full white."""
    dark = Image.fromarray(np.full((32, 32), 10_000, dtype=np.uint16))
    data = io.BytesIO()
    dark.save(data, "PNG")
    decoded = decode_image(data.getvalue())
    assert decoded.shape == (32, 32, 3) and (decoded == round(10_000 / 257)).all()  # 39


def test_empty() -> None:
    with pytest.raises(InvalidImageError, match="empty"):
        decode_image(b"")


def test_garbage() -> None:
    with pytest.raises(InvalidImageError):
        decode_image(b"GIF89a not really" * 5)


def test_truncated() -> None:
    data = images.astronaut_jpeg()
    with pytest.raises(InvalidImageError):
        decode_image(data[: len(data) // 2])


def test_one_pixel() -> None:
    with pytest.raises(InvalidImageError, match="too small"):
        decode_image(images.encode(np.zeros((1, 1, 3), dtype=np.uint8), "PNG"))


def test_byte_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="bytes"):
        decode_image(images.astronaut_jpeg(), ImageLimits(max_bytes=1000))


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError, match="pixels"):
        decode_image(images.astronaut_jpeg(), ImageLimits(max_pixels=512 * 511))


def test_decompression_bomb() -> None:
    with pytest.raises(ImageTooLargeError):
        decode_image(images.png_bomb(20000))


def test_image_size_reads_header_only() -> None:
    assert image_size(images.astronaut_jpeg()) == (512, 512)


@pytest.mark.parametrize("settings", [GatewaySettings, ServiceSettings])
def test_the_pixel_setting_stops_at_pillows_own_bomb_limit(settings: type[BaseSettings]) -> None:
    """Pillow refuses images past its own limit whatever ours says: a higher setting would
    be a promise the decoder breaks, so it is refused at start-up."""
    assert settings(max_image_pixels=HIGHEST_MAX_IMAGE_PIXELS)
    with pytest.raises(ValidationError, match="max_image_pixels"):
        settings(max_image_pixels=HIGHEST_MAX_IMAGE_PIXELS + 1)
