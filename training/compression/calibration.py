"""Calibration sets of real images for int8 quantization, preprocessed as each model expects.

- ``sface`` (and trained embedders): aligned 112x112 RGB crops, float 0-255;
- ``yunet``: photos letterboxed to 640x640 BGR float 0-255 (``services.shared.model_zoo.yunet``);
- ``emotion``: grey faces resized to 64x64, scaled to [-1, 1];
- ``age``/``gender``: the attribute service's dlib chips (64x64 / 32x32 RGB, ``(x - mean) / 256``)
  cut from the largest face the served YuNet finds; images without a face are skipped;
- ``minifasnet_v2``/``minifasnet_v1se`` and ``facemesh``: the largest YuNet face fed through the
  services' own classes (``services.liveness.passive.PassiveLiveness``: 80x80 BGR 0-255 patch of
  2.7x / 4.0x the box; ``services.shared.model_zoo.FaceMesh``: the 192x192 RGB [0, 1] crop
  rotated level) to a ``RecordingModel``, which keeps each tensor they feed the network. The
  calibration inputs are therefore cut by the service code itself, not by a copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from services.liveness.passive import PassiveLiveness
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo.age import AGE_CHIP_SIZE
from services.shared.model_zoo.face_chips import dlib_tensor, extract_face_chip
from services.shared.model_zoo.facemesh import FaceMesh
from services.shared.model_zoo.gender import GENDER_CHIP_SIZE
from services.shared.model_zoo.minifasnet import MiniFASNet
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector, letterbox_bgr
from services.shared.runtime import LiteModel
from training.data.folders import IMAGE_SUFFIXES, load_image
from training.errors import DatasetLayoutError, TrainingError

LIVENESS_MODELS = ("minifasnet_v2", "minifasnet_v1se")
MESH_MODELS = ("facemesh",)
Feed = Callable[[NDArray[np.uint8], DetectedFace], object]


def _files(folder: Path, limit: int) -> list[Path]:
    """Up to limit image files of folder (recursively), spread evenly over its sorted list."""
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


def dlib_chip_input(path: Path, size: int, detector: YuNetDetector) -> NDArray[np.float32] | None:
    """The attribute service's dlib chip of the largest face, as the model's input (or None)."""
    image = load_image(path)
    faces = detector.detect(image)
    if not faces:
        return None
    face = max(faces, key=lambda f: f.area)
    tensor: NDArray[np.float32] = dlib_tensor(extract_face_chip(image, face.landmarks, size))[0]
    return tensor


class RecordingModel(LiteModel):
    """A served model that keeps a copy of every input tensor it is run on (batch dim dropped)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, num_threads=2)
        self.fed: list[NDArray[np.float32]] = []

    def run(self, **inputs: NDArray[np.generic]) -> dict[str, NDArray[np.float32]]:
        """Record the input, then run the model as usual."""
        self.fed.append(np.array(inputs[self.input_name][0], dtype=np.float32))
        return super().run(**inputs)


def service_feed(kind: str, store: ModelStore) -> tuple[RecordingModel, Feed]:
    """The served model as a RecordingModel and the service call that feeds it one face."""
    try:
        recorder = RecordingModel(store.open(kind).path)
        spec = store.spec(kind)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error
    if kind in LIVENESS_MODELS:
        passive = PassiveLiveness([MiniFASNet(recorder, spec)])
        return recorder, lambda image, face: passive.check(image, face.box)
    if kind in MESH_MODELS:
        return recorder, FaceMesh(recorder, spec).landmarks
    raise TrainingError(f"{kind!r} is not fed by a face crop of the liveness or detection service")


def service_inputs(
    kind: str, files: Sequence[Path], detector: YuNetDetector, store: ModelStore
) -> NDArray[np.float32]:
    """(N, ...) inputs the service feeds ``kind`` for the largest face of each photo.

    Photos without a face are skipped; DatasetLayoutError when none has one.
    """
    recorder, feed = service_feed(kind, store)
    for path in files:
        image = load_image(path)
        faces = detector.detect(image)
        if faces:
            feed(image, max(faces, key=lambda f: f.area))
    if not recorder.fed:
        raise DatasetLayoutError(f"no face found in the {len(files)} calibration images")
    return np.stack(recorder.fed)


CHIP_SIZES = {"age": AGE_CHIP_SIZE, "gender": GENDER_CHIP_SIZE}

PREPROCESSORS: dict[str, Callable[[Path], NDArray[np.float32]]] = {
    "sface": aligned_rgb,
    "embedding": aligned_rgb,
    "yunet": yunet_input,
    "emotion": emotion_input,
}


def calibration_set(
    kind: str,
    folder: Path | Sequence[Path],
    limit: int = 100,
    cache_dir: Path | None = None,
) -> NDArray[np.float32]:
    """(N, ...) float32 model inputs from up to ``limit`` images of each folder.

    ``cache_dir`` is the model store holding YuNet (the face crops need its boxes and
    landmarks) and, for the liveness and mesh kinds, the served model fed by the service code.
    """
    folders = [folder] if isinstance(folder, Path) else list(folder)
    known = sorted([*PREPROCESSORS, *CHIP_SIZES, *LIVENESS_MODELS, *MESH_MODELS])
    if kind not in known:
        names = ", ".join(known)
        raise TrainingError(f"no calibration preprocessing for {kind!r} (known: {names})")
    files = [path for f in folders for path in _files(f, limit)]
    if kind in PREPROCESSORS:
        return np.stack([PREPROCESSORS[kind](p) for p in files])
    from training.data.align import open_detector

    detector = open_detector(cache_dir)
    if kind in CHIP_SIZES:
        chip = partial(dlib_chip_input, size=CHIP_SIZES[kind], detector=detector)
        samples = [s for s in (chip(p) for p in files) if s is not None]
        if not samples:
            raise DatasetLayoutError(f"no face found in the {len(files)} images of {folders}")
        return np.stack(samples)
    return service_inputs(kind, files, detector, ModelStore(cache_dir))
