"""Calibration sets of real images for int8 quantization, preprocessed as each model expects.

- ``sface`` (and trained embedders): aligned 112x112 RGB crops, float 0-255;
- ``yunet``: photos letterboxed to 640x640 BGR float 0-255 (``services.detection.model``);
- ``emotion``: grey faces resized to 64x64, scaled to [-1, 1];
- ``age``/``gender``: the attribute service's dlib chips (64x64 / 32x32 RGB, ``(x - mean) / 256``)
  cut from the largest face the served YuNet finds; images without a face are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from services.attributes.chips import extract_face_chip
from services.attributes.model import AGE_CHIP_SIZE, GENDER_CHIP_SIZE, dlib_tensor
from services.detection.model import YuNetDetector, letterbox_bgr
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


def dlib_chip_input(
    path: Path, size: int, detector: YuNetDetector
) -> NDArray[np.float32] | None:
    """The attribute service's dlib chip of the largest face, as the model's input (or None)."""
    image = load_image(path)
    faces = detector.detect(image)
    if not faces:
        return None
    face = max(faces, key=lambda f: f.area)
    tensor: NDArray[np.float32] = dlib_tensor(extract_face_chip(image, face.landmarks, size))[0]
    return tensor


CHIP_SIZES = {"age": AGE_CHIP_SIZE, "gender": GENDER_CHIP_SIZE}

PREPROCESSORS: dict[str, Callable[[Path], NDArray[np.float32]]] = {
    "sface": aligned_rgb,
    "embedding": aligned_rgb,
    "yunet": yunet_input,
    "emotion": emotion_input,
}


def calibration_set(
    kind: str, folder: Path, limit: int = 100, cache_dir: Path | None = None
) -> NDArray[np.float32]:
    """(N, ...) float32 model inputs from up to ``limit`` images of folder.

    ``cache_dir`` is the model store holding YuNet (age and gender chips need its landmarks).
    """
    if kind in CHIP_SIZES:
        from training.data.align import open_detector

        files = _files(folder, limit)
        chip = partial(dlib_chip_input, size=CHIP_SIZES[kind], detector=open_detector(cache_dir))
        samples = [s for s in (chip(p) for p in files) if s is not None]
        if not samples:
            raise DatasetLayoutError(f"no face found in the {len(files)} images of {folder}")
        return np.stack(samples)
    if kind not in PREPROCESSORS:
        known = ", ".join(sorted([*PREPROCESSORS, *CHIP_SIZES]))
        raise TrainingError(f"no calibration preprocessing for {kind!r} (known: {known})")
    return np.stack([PREPROCESSORS[kind](p) for p in _files(folder, limit)])
