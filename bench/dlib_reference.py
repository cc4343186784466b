"""dlib's own face descriptors, for the parity checks of the Keras/TFLite rebuild.

Runs in a separate benchmark venv that has dlib (``python3 -m venv /tmp/dlibvenv &&
/tmp/dlibvenv/bin/pip install dlib-bin numpy pillow``) and imports nothing of FaceFlow, so the
project itself never needs dlib. Two modes, each writing one .npz:

- ``faces``: for each photo, dlib's HOG detector (one upsampling), the face nearest the photo's
  centre, the 5-point shape predictor, ``get_face_chip(image, shape, 150, 0.25)`` (what
  ``compute_face_descriptor(image, shape)`` cuts) and the descriptor of that chip. Saves
  ``names``, ``chips`` (N, 150, 150, 3) uint8 RGB, ``descriptors`` (N, 128) float32,
  ``pipeline_descriptors`` (``compute_face_descriptor(image, shape)``, the whole dlib path),
  ``landmarks`` (N, 5, 2) from the shape predictor and ``chip_to_image`` (N, 2, 3): the affine
  map from chip pixels to photo pixels (dlib's ``get_mapping_to_chip``, inverted).
- ``chips``: descriptors of already-cut 150x150 RGB chips (``--chips`` .npz with ``chips``).

    /tmp/dlibvenv/bin/python bench/dlib_reference.py faces --model M.dat --predictor P.dat \\
        --out /tmp/dlib_faces.npz photo1.jpg photo2.jpg ...
    /tmp/dlibvenv/bin/python bench/dlib_reference.py chips --model M.dat --chips in.npz \\
        --out /tmp/dlib_chips.npz
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import dlib  # type: ignore[import-not-found]
import numpy as np
from PIL import Image

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def chip_to_image(details: Any) -> np.ndarray:
    """2x3 affine from chip pixels to image pixels (inverse of dlib's get_mapping_to_chip).

    dlib maps the rect's corners, rotated by ``angle`` about the rect's centre, onto the chip's
    corners (0, 0), (cols-1, 0), (cols-1, rows-1).
    """
    rect = details.rect
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    cos, sin = math.cos(details.angle), math.sin(details.angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    corners = np.array(
        [[rect.left(), rect.top()], [rect.right(), rect.top()], [rect.right(), rect.bottom()]]
    )
    image_points = (corners - centre) @ rotation.T + centre
    chip_points = np.array(
        [[0, 0], [details.cols - 1, 0], [details.cols - 1, details.rows - 1]], dtype=np.float64
    )
    design = np.hstack([chip_points, np.ones((3, 1))])
    return np.linalg.solve(design, image_points).T


def faces(options: argparse.Namespace) -> int:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(options.predictor))
    model = dlib.face_recognition_model_v1(str(options.model))
    names, chips, descriptors, pipeline, landmarks, transforms = [], [], [], [], [], []
    for path in options.photos:
        image = np.asarray(Image.open(path).convert("RGB"))
        detections = list(detector(image, 1))
        if not detections:
            sys.stderr.write(f"{path}: no face found by dlib's detector, skipped\n")
            continue
        height, width = image.shape[:2]

        def distance(rect: Any, w: int = width, h: int = height) -> float:
            centre = rect.center()
            return math.hypot(centre.x - w / 2, centre.y - h / 2)

        shape = predictor(image, min(detections, key=distance))
        chip = np.asarray(dlib.get_face_chip(image, shape, CHIP_SIZE, CHIP_PADDING))
        details = dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING)
        names.append(str(path))
        chips.append(chip)
        descriptors.append(np.array(model.compute_face_descriptor(chip)))
        pipeline.append(np.array(model.compute_face_descriptor(image, shape)))
        landmarks.append([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)])
        transforms.append(chip_to_image(details))
    np.savez_compressed(
        options.out,
        names=np.array(names),
        chips=np.stack(chips).astype(np.uint8),
        descriptors=np.stack(descriptors).astype(np.float32),
        pipeline_descriptors=np.stack(pipeline).astype(np.float32),
        landmarks=np.array(landmarks, dtype=np.float64),
        chip_to_image=np.stack(transforms),
        dlib_version=np.array(dlib.__version__),
    )
    sys.stderr.write(f"{len(names)} faces -> {options.out}\n")
    return 0


def chips(options: argparse.Namespace) -> int:
    model = dlib.face_recognition_model_v1(str(options.model))
    with np.load(options.chips) as data:
        batch = np.ascontiguousarray(data["chips"], dtype=np.uint8)
    if batch.ndim != 4 or batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        sys.stderr.write(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), not {batch.shape}\n")
        return 2
    descriptors = [np.array(model.compute_face_descriptor(np.ascontiguousarray(c))) for c in batch]
    np.savez_compressed(
        options.out,
        descriptors=np.stack(descriptors).astype(np.float32),
        dlib_version=np.array(dlib.__version__),
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["faces", "chips"])
    parser.add_argument("--model", type=Path, required=True, help="the ResNet .dat file")
    parser.add_argument("--predictor", type=Path, help="shape_predictor_5_face_landmarks.dat")
    parser.add_argument("--chips", type=Path, help="chips mode: .npz with 'chips'")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("photos", nargs="*", type=Path)
    options = parser.parse_intermixed_args(argv)
    if options.mode == "faces":
        if options.predictor is None or not options.photos:
            parser.error("faces mode needs --predictor and photos")
        return faces(options)
    if options.chips is None:
        parser.error("chips mode needs --chips")
    return chips(options)


if __name__ == "__main__":
    raise SystemExit(main())
