"""Calibration sets of real images for int8 quantization, preprocessed as each model expects.

- ``sface`` (and trained embedders): aligned 112x112 RGB crops, float 0-255;
- ``yunet``: photos letterboxed to 640x640 BGR float 0-255 (``services.detection.model``);
- ``emotion``: grey faces resized to 64x64, scaled to [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from services.detection.model import letterbox_bgr
from training.data.folders import IMAGE_SUFFIXES, load_image
from training.errors import DatasetLayoutError, TrainingError


def _files(folder: Path, limit: int) -> list[Path]:
    if not folder.is_dir():
        raise DatasetLayoutError(f"calibration folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetLayoutError(f"calibration folder {folder} holds no images")
    step = max(1, len(files) // limit)
    return files[::step][:limit]


def aligned_rgb(path: Path) -> NDArray[np.float32]:
    """An aligned crop as float 0-255 RGB (resized to 112x112 if needed)."""
    image = load_image(path, size=(112, 112))
    return image.astype(np.float32)


def yunet_input(path: Path) -> NDArray[np.float32]:
    """A photo letterboxed to 640x640 BGR float 0-255."""
    tensor: NDArray[np.float32] = letterbox_bgr(load_image(path)).tensor[0]
    return tensor


def emotion_input(path: Path) -> NDArray[np.float32]:
    """A grey face at 64x64 in [-1, 1], shape (64, 64, 1)."""
    grey = cv2.cvtColor(load_image(path), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_LINEAR)
    return (grey.astype(np.float32) / 127.5 - 1.0)[..., np.newaxis]


PREPROCESSORS: dict[str, Callable[[Path], NDArray[np.float32]]] = {
    "sface": aligned_rgb,
    "embedding": aligned_rgb,
    "yunet": yunet_input,
    "emotion": emotion_input,
}


def calibration_set(kind: str, folder: Path, limit: int = 100) -> NDArray[np.float32]:
    """(N, ...) float32 model inputs from up to ``limit`` images of folder."""
    if kind not in PREPROCESSORS:
        known = ", ".join(sorted(PREPROCESSORS))
        raise TrainingError(f"no calibration preprocessing for {kind!r} (known: {known})")
    return np.stack([PREPROCESSORS[kind](p) for p in _files(folder, limit)])
