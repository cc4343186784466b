"""Detect and align faces of a folder tree onto the 112x112 template the services use.

Each image is run through the served detector (YuNet from the model store) and the shared
5-point alignment (``services.shared.alignment``), so training crops match serving crops. The
face kept is the most confident one nearest the image centre (LFW-style photos); images
without a face are listed and skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from services.shared.alignment import align_face
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo.face_order import nearest_centre_first
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from training.data.folders import IMAGE_SUFFIXES, load_image
from training.errors import DatasetLayoutError, TrainingError

log = logging.getLogger(__name__)


@dataclass
class AlignReport:
    """What align_tree did."""

    aligned: int = 0
    skipped_existing: int = 0
    no_face: list[str] = field(default_factory=list)


def open_detector(cache_dir: Path | None = None, model: str = "yunet") -> YuNetDetector:
    """The served YuNet detector from the model store (TrainingError when not prepared)."""
    try:
        return YuNetDetector.from_store(ModelStore(cache_dir), model)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error


def central_face(faces: list[DetectedFace], width: int, height: int) -> DetectedFace | None:
    """The face the detection service puts first with ``FACE_ORDER_CENTER`` (None if none)."""
    ordered = nearest_centre_first(faces, width, height)
    return ordered[0] if ordered else None


def align_tree(
    source: Path, target: Path, detector: YuNetDetector, progress: bool = True
) -> AlignReport:
    """Write an aligned 112x112 PNG crop for every image under source into target (same tree)."""
    if not source.is_dir():
        raise DatasetLayoutError(f"{source} is not a folder")
    images = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DatasetLayoutError(f"{source} holds no images")
    report = AlignReport()
    for path in tqdm(images, desc="align", unit="img", disable=not progress):
        relative = path.relative_to(source)
        output = (target / relative).with_suffix(".png")
        if output.is_file():
            report.skipped_existing += 1
            continue
        image = load_image(path)
        face = central_face(detector.detect(image), image.shape[1], image.shape[0])
        if face is None:
            report.no_face.append(str(relative))
            continue
        output.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(align_face(image, face.landmarks)).save(output)
        report.aligned += 1
    return report
