"""Age/gender training inputs cut by the serving code, cached once as one ``.npz``.

For every UTKFace-named image (``<age>_<gender>_<race>_<timestamp>.jpg``) of a folder, exactly
what the served pipeline computes for ``/detect?fields=age,gender``: the image decoded by the
services' ``decode_image``, YuNet from the model store with the detection service's defaults
(model score threshold, small photos enlarged to the 640 input), the largest face (the gateway's
first face), then

- ``align_face`` (the 112x112 crop the embedding and attribute services cut) -> SFace -> the
  unit-length 128-d embedding, plus the embedding of the mirrored crop (training augmentation);
- ``extract_face_chip`` at ``chip_size`` (the dlib-style chip the age/gender CNNs are served on).

Images where YuNet finds no face are listed and left out; files whose names do not parse or
that no decoder can read are listed as skipped. The validation split is identity-free
by photo: :func:`is_validation` hashes the file name's timestamp (UTKFace's photo key; its people
are nearly all distinct), so the split does not depend on the file order or the folder.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from tqdm import tqdm

from services.shared.alignment import align_face
from services.shared.errors import ImageTooLargeError, InvalidImageError
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.face_chips import extract_face_chip
from services.shared.model_zoo.sface import SFace
from services.shared.model_zoo.yunet import YuNetDetector
from training.data.npz_cache import read_npz, write_npz
from training.errors import DatasetLayoutError
from training.recipes.attributes import scan_attributes

log = logging.getLogger(__name__)

VALIDATION_PERCENT = 10
CHIP_SIZE = 64


def photo_key(name: str) -> str:
    """UTKFace's photo identifier: the timestamp field of the file name."""
    return name.split(".", 1)[0].split("_")[-1]


def is_validation(name: str, percent: int = VALIDATION_PERCENT) -> bool:
    """Whether a file belongs to the held-out split: sha256 of its timestamp, mod 100 < percent."""
    digest = hashlib.sha256(photo_key(name).encode()).hexdigest()
    return int(digest, 16) % 100 < percent


@dataclass(frozen=True)
class AttributeFeatures:
    """Per face: its file name, labels, landmarks, SFace embeddings and dlib-style chip."""

    names: NDArray[np.str_]
    ages: NDArray[np.float32]
    genders: NDArray[np.int64]  # UTKFace's: 0 = male, 1 = female
    landmarks: NDArray[np.float32]  # (n, 5, 2) YuNet points in image pixels
    embeddings: NDArray[np.float32]  # (n, 128) SFace of the aligned crop
    embeddings_flipped: NDArray[np.float32]  # (n, 128) SFace of the mirrored aligned crop
    chips: NDArray[np.uint8]  # (n, chip_size, chip_size, 3) RGB
    no_face: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    source: str = ""  # the image folder, and the models that cut the inputs

    def __len__(self) -> int:
        return len(self.names)

    def validation_mask(self, percent: int = VALIDATION_PERCENT) -> NDArray[np.bool_]:
        """True for the faces of the held-out split."""
        return np.array([is_validation(str(n), percent) for n in self.names], dtype=bool)

    def subset(self, mask: NDArray[np.bool_]) -> AttributeFeatures:
        """The faces where mask is true."""
        return AttributeFeatures(
            self.names[mask],
            self.ages[mask],
            self.genders[mask],
            self.landmarks[mask],
            self.embeddings[mask],
            self.embeddings_flipped[mask],
            self.chips[mask],
        )


def extract_features(
    folder: Path,
    store: ModelStore,
    chip_size: int = CHIP_SIZE,
    limit: int | None = None,
    progress: bool = True,
) -> AttributeFeatures:
    """Run the serving front end over a UTKFace-named folder (see the module docstring)."""
    detector = YuNetDetector.from_store(store, "yunet")
    embedder = SFace.from_store(store, "sface")
    paths, targets, skipped = scan_attributes(folder)
    if limit is not None:
        paths, targets = paths[:limit], targets[:limit]
    names: list[str] = []
    labels: list[tuple[int, int]] = []
    landmarks: list[NDArray[np.float64]] = []
    embeddings: list[NDArray[np.float32]] = []
    chips: list[NDArray[np.uint8]] = []
    no_face: list[str] = []
    unreadable: list[str] = []
    for path, target in tqdm(
        list(zip(paths, targets, strict=True)), desc="features", unit="img", disable=not progress
    ):
        try:
            image = decode_image(path.read_bytes())
        except (OSError, InvalidImageError, ImageTooLargeError) as error:
            log.warning("cannot read %s: %s", path, error)
            unreadable.append(path.name)
            continue
        faces = detector.detect(image)
        if not faces:
            no_face.append(path.name)
            continue
        face = max(faces, key=lambda f: f.area)
        crop = align_face(image, face.landmarks)
        embeddings.append(embedder.embed(np.stack([crop, np.ascontiguousarray(crop[:, ::-1])])))
        chips.append(extract_face_chip(image, face.landmarks, chip_size))
        landmarks.append(face.landmarks)
        names.append(path.name)
        labels.append(target)
    if not names:
        raise DatasetLayoutError(
            f"{folder}: no face found in {len(paths)} images ({len(unreadable)} unreadable)"
        )
    if no_face:
        log.warning("no face in %d of %d images (first: %s)", len(no_face), len(paths), no_face[0])
    pairs = np.asarray(embeddings, dtype=np.float32)
    return AttributeFeatures(
        names=np.asarray(names),
        ages=np.asarray([label[0] for label in labels], dtype=np.float32),
        genders=np.asarray([label[1] for label in labels], dtype=np.int64),
        landmarks=np.asarray(landmarks, dtype=np.float32),
        embeddings=pairs[:, 0],
        embeddings_flipped=pairs[:, 1],
        chips=np.asarray(chips, dtype=np.uint8),
        no_face=no_face,
        skipped=skipped + unreadable,
        source=f"{Path(folder).resolve()}; {detector.spec.key} largest face, align_face + "
        f"{embedder.spec.key}, extract_face_chip {chip_size} px",
    )


PER_FACE = ("names", "ages", "genders", "landmarks", "embeddings", "embeddings_flipped", "chips")


def save_features(features: AttributeFeatures, path: Path) -> None:
    """Write the cache (uncompressed .npz, atomically; the chips dominate its size)."""
    write_npz(
        path,
        {
            "names": features.names,
            "ages": features.ages,
            "genders": features.genders,
            "landmarks": features.landmarks,
            "embeddings": features.embeddings,
            "embeddings_flipped": features.embeddings_flipped,
            "chips": features.chips,
            "no_face": np.asarray(features.no_face, dtype=str),
            "skipped": np.asarray(features.skipped, dtype=str),
            "source": np.asarray(features.source),
        },
    )


def load_features(path: Path) -> AttributeFeatures:
    """Read a cache written by :func:`save_features` (DatasetLayoutError when it is not one)."""
    data = read_npz(
        path,
        "attribute feature cache",
        "python -m training attribute-features",
        required=PER_FACE,
        per_face=PER_FACE,
    )
    chips = data["chips"]
    if chips.ndim != 4 or chips.shape[-1] != 3 or chips.dtype != np.uint8:
        raise DatasetLayoutError(
            f"{path}: chips are {chips.dtype} {chips.shape}, not uint8 (faces, side, side, 3)"
        )
    for name in ("embeddings", "embeddings_flipped"):
        if data[name].ndim != 2:
            raise DatasetLayoutError(f"{path}: {name} has shape {data[name].shape}, not (faces, d)")
    return AttributeFeatures(
        names=data["names"].astype(str),
        ages=data["ages"].astype(np.float32),
        genders=data["genders"].astype(np.int64),
        landmarks=data["landmarks"].astype(np.float32),
        embeddings=data["embeddings"].astype(np.float32),
        embeddings_flipped=data["embeddings_flipped"].astype(np.float32),
        chips=chips,
        no_face=[str(n) for n in data.get("no_face", [])],
        skipped=[str(n) for n in data.get("skipped", [])],
        source=str(data["source"]) if "source" in data else "",
    )


def write_chip_folders(features: AttributeFeatures, target: Path) -> dict[str, int]:
    """PNG chips under ``target/train`` and ``target/val`` (the hash split), named as the
    originals, so the CNN recipe (``train attributes --data .../train --val .../val``) trains on
    the served chips and the same split as the embedding head."""
    validation = features.validation_mask()
    counts = {"train": 0, "val": 0}
    for name, chip, held_out in zip(features.names, features.chips, validation, strict=True):
        split = "val" if held_out else "train"
        folder = target / split
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(chip).save(folder / f"{Path(str(name)).stem}.png")
        counts[split] += 1
    return counts
