"""A video file for Chromium's fake camera (``--use-file-for-fake-video-capture``), made from a
real photo: YUV4MPEG2 (.y4m), 4:2:0, written with numpy (no ffmpeg needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image


def letterbox(rgb: NDArray[np.uint8], width: int = 640, height: int = 480) -> NDArray[np.uint8]:
    """The photo scaled to fit width x height, centred on grey."""
    image = Image.fromarray(rgb)
    scale = min(width / image.width, height / image.height)
    size = (round(image.width * scale), round(image.height * scale))
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(
        image.resize(size, Image.Resampling.LANCZOS),
        ((width - size[0]) // 2, (height - size[1]) // 2),
    )
    return np.asarray(canvas, dtype=np.uint8)


def rgb_to_yuv420(rgb: NDArray[np.uint8]) -> bytes:
    """Full-range BT.601 (JPEG) Y, then U and V subsampled 2x2: one y4m C420jpeg frame."""
    pixels = rgb.astype(np.float32)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0

    def subsample(plane: NDArray[np.float32]) -> NDArray[np.float32]:
        h, w = plane.shape
        blocks: NDArray[np.float32] = plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
        return blocks

    planes = [y, subsample(u), subsample(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(rgb: NDArray[np.uint8], path: Path, frames: int = 30, fps: int = 15) -> Path:
    """A still video of the photo (even width and height), looped by Chromium."""
    height, width = rgb.shape[:2]
    if width % 2 or height % 2:
        raise ValueError("y4m 4:2:0 needs an even width and height")
    frame = b"FRAME\n" + rgb_to_yuv420(rgb)
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path
