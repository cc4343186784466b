"""Real photos of a few people from ../shared/data/lfw-devtest, for the clustering tests.

Each of these people has seven photos in the dev-test split, each photo a 250x250 LFW
deep-funneled image with the person in the middle (and sometimes a bystander). ``centre_crops``
aligns the face nearest the middle of each photo with the served detector, as the detection
service would, for tests that talk to the embedding service directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo import YuNetDetector

PEOPLE = ("Amelie_Mauresmo", "Donald_Rumsfeld", "John_Bolton", "Tang_Jiaxuan")
"""Four people with seven dev-test photos each."""


def photos(shared_data: Path, people: tuple[str, ...] = PEOPLE) -> list[tuple[str, Path]]:
    """(person, photo path) of every photo of ``people``, person by person."""
    root = shared_data / "lfw-devtest" / "images"
    return [(person, path) for person in people for path in sorted((root / person).glob("*.jpg"))]


def centre_crops(
    paths: list[Path], model_store: ModelStore
) -> list[tuple[NDArray[np.uint8], NDArray[np.float64]]]:
    """The aligned 112x112 crop and box of the face nearest each photo's middle."""
    detector = YuNetDetector.from_store(model_store, "yunet")
    crops = []
    for path in paths:
        image = decode_image(path.read_bytes())
        height, width = image.shape[:2]
        faces = detector.detect(image, upscale=False)
        face = min(
            faces,
            key=lambda f: (
                (f.box[0] + f.box[2] / 2 - width / 2) ** 2
                + (f.box[1] + f.box[3] / 2 - height / 2) ** 2
            ),
        )
        crops.append((align_face(image, face.landmarks), face.box))
    return crops
