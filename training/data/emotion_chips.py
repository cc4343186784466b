"""Emotion training inputs cut by the serving code, cached once as one ``.npz``.

FER2013-style folders hold tight 48x48 grey crops, one folder per emotion
(``<emotion>/<file>.jpg``, the emotion one of the served labels). A crop that tight is not a
photo the detector can read (YuNet finds the face in 81 of the 150 FER crops of the dev set),
so every crop is first framed the way a client frames a tight crop before sending it
(:func:`frame_tight_crop`: a mid-grey border of half the side on each side; 146 of 150 found).
Then exactly what ``/detect?fields=emotion`` computes: the services' ``decode_image``, YuNet
from the model store with the detection service's defaults, the largest face, and
``emotion_crop`` (the 64x64 grey crop the emotion model is served on).

Crops where YuNet finds no face, and files no decoder can read, are listed and left out. The
validation split is by photo: the sha256 of the file name mod 100 < ``VALIDATION_PERCENT``
(independent of file order).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from tqdm import tqdm

from services.shared.errors import ImageTooLargeError, InvalidImageError
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.emotion import EMOTION_LABELS
from services.shared.model_zoo.face_chips import emotion_crop
from services.shared.model_zoo.yunet import YuNetDetector
from training.data.folders import IMAGE_SUFFIXES
from training.data.npz_cache import read_npz, write_npz
from training.errors import DatasetLayoutError

log = logging.getLogger(__name__)

VALIDATION_PERCENT = 10
TIGHT_CROP_BORDER = 0.5  # of the crop's side, on each side
BORDER_GREY = 128


def frame_tight_crop(image: Image.Image, border: float = TIGHT_CROP_BORDER) -> bytes:
    """A tight face crop on a mid-grey canvas (``border`` x its side on each side), as PNG."""
    grey = image.convert("L")
    pad_x, pad_y = round(grey.width * border), round(grey.height * border)
    canvas = Image.new("L", (grey.width + 2 * pad_x, grey.height + 2 * pad_y), BORDER_GREY)
    canvas.paste(grey, (pad_x, pad_y))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def is_validation(name: str, percent: int = VALIDATION_PERCENT) -> bool:
    """Whether a file belongs to the held-out split: sha256 of its name, mod 100 < percent."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 100 < percent


@dataclass(frozen=True)
class EmotionChips:
    """Per face: its file name, label (index into EMOTION_LABELS) and 64x64 grey chip."""

    names: NDArray[np.str_]
    labels: NDArray[np.int64]
    chips: NDArray[np.uint8]  # (n, 64, 64)
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # files no decoder could read
    source: str = ""

    def __len__(self) -> int:
        return len(self.names)

    def validation_mask(self, percent: int = VALIDATION_PERCENT) -> NDArray[np.bool_]:
        """True for the faces of the held-out split."""
        return np.array([is_validation(str(n), percent) for n in self.names], dtype=bool)

    def subset(self, mask: NDArray[np.bool_]) -> EmotionChips:
        """The faces where mask is true."""
        return replace(
            self, names=self.names[mask], labels=self.labels[mask], chips=self.chips[mask]
        )


def scan_emotion_folder(root: Path) -> list[tuple[Path, int]]:
    """(image, label index) for every image under ``root/<emotion>/``, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"emotion folder {root} does not exist")
    unknown = sorted(
        d.name for d in root.iterdir() if d.is_dir() and d.name.lower() not in EMOTION_LABELS
    )
    if unknown:
        raise DatasetLayoutError(
            f"{root}: folders {unknown} are not emotions ({', '.join(EMOTION_LABELS)})"
        )
    items = [
        (path, EMOTION_LABELS.index(folder.name.lower()))
        for folder in sorted(d for d in root.iterdir() if d.is_dir())
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not items:
        raise DatasetLayoutError(f"{root}: no images under <emotion>/ folders")
    return items


def served_emotion_crop(original: Image.Image, detector: YuNetDetector) -> NDArray[np.uint8] | None:
    """What the service crops from this tight crop once framed: YuNet's largest face's
    ``emotion_crop`` (None when YuNet finds no face)."""
    image = decode_image(frame_tight_crop(original))
    faces = detector.detect(image)
    if not faces:
        return None
    return emotion_crop(image, max(faces, key=lambda f: f.area).box)


def extract_emotion_chips(
    folder: Path, store: ModelStore, limit: int | None = None, progress: bool = True
) -> EmotionChips:
    """Frame, detect and crop every image of an emotion folder (see the module docstring)."""
    detector = YuNetDetector.from_store(store, "yunet")
    items = scan_emotion_folder(folder)
    if limit is not None:
        items = items[:limit]
    names: list[str] = []
    labels: list[int] = []
    chips: list[NDArray[np.uint8]] = []
    no_face: list[str] = []
    unreadable: list[str] = []
    for path, label in tqdm(items, desc="emotion chips", unit="img", disable=not progress):
        try:
            with Image.open(path) as original:
                chip = served_emotion_crop(original, detector)
        except (OSError, ValueError, InvalidImageError, ImageTooLargeError) as error:
            log.warning("cannot read %s: %s", path, error)
            unreadable.append(path.name)
            continue
        if chip is None:
            no_face.append(path.name)
            continue
        chips.append(chip)
        names.append(path.name)
        labels.append(label)
    if not names:
        raise DatasetLayoutError(
            f"{folder}: no face found in {len(items)} images ({len(unreadable)} unreadable)"
        )
    if no_face:
        log.warning("no face in %d of %d images (first: %s)", len(no_face), len(items), no_face[0])
    return EmotionChips(
        names=np.asarray(names),
        labels=np.asarray(labels, dtype=np.int64),
        chips=np.asarray(chips, dtype=np.uint8),
        no_face=no_face,
        unreadable=unreadable,
        source=f"{Path(folder).resolve()}; frame_tight_crop border {TIGHT_CROP_BORDER}, "
        f"{detector.spec.key} largest face, emotion_crop 64 px",
    )


def save_emotion_chips(chips: EmotionChips, path: Path) -> None:
    """Write the cache (uncompressed .npz, atomically)."""
    write_npz(
        path,
        {
            "names": chips.names,
            "labels": chips.labels,
            "chips": chips.chips,
            "no_face": np.asarray(chips.no_face, dtype=str),
            "unreadable": np.asarray(chips.unreadable, dtype=str),
            "source": np.asarray(chips.source),
        },
    )


def load_emotion_chips(path: Path) -> EmotionChips:
    """Read a cache written by :func:`save_emotion_chips` (DatasetLayoutError when it is not)."""
    data = read_npz(
        path,
        "emotion chip cache",
        "python -m training emotion-chips",
        required=("names", "labels", "chips"),
        per_face=("names", "labels", "chips"),
    )
    chips = data["chips"]
    if chips.ndim != 3 or chips.dtype != np.uint8:
        raise DatasetLayoutError(
            f"{path}: chips are {chips.dtype} {chips.shape}, not uint8 (faces, side, side)"
        )
    labels = data["labels"]
    if labels.size and not (labels.min() >= 0 and labels.max() < len(EMOTION_LABELS)):
        raise DatasetLayoutError(f"{path}: labels outside 0..{len(EMOTION_LABELS) - 1}")
    return EmotionChips(
        names=data["names"].astype(str),
        labels=labels.astype(np.int64),
        chips=chips,
        no_face=[str(n) for n in data.get("no_face", [])],
        unreadable=[str(n) for n in data.get("unreadable", [])],
        source=str(data["source"]) if "source" in data else "",
    )
