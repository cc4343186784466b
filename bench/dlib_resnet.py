"""Figures for the dlib ResNet rebuild (models/dlib_resnet.toml); prints JSON, asserts nothing.

Needs a faces .npz made by dlib itself in its benchmark venv (bench/dlib_reference.py faces:
chips, descriptors, the chip-to-photo transform of each face). Modes:

- ``template``: YuNet's 5 points of each face (the face nearest the photo's centre, native
  scale as recognition asks) mapped into dlib's 150x150 chip frame, averaged (and averaged with
  the mirror image, so the template is left-right symmetric as dlib's is): the source of
  ``DLIB_CHIP_TEMPLATE_150`` in services/shared/alignment.py.
- ``parity``: cosine of the Keras model and of the prepared TFLite file vs dlib on dlib's own
  chips; cosine of the descriptor of our YuNet-aligned chip vs dlib's whole pipeline; TFLite
  latency per face (LiteRT, 2 threads, p50 of 50 runs).
- ``lfw``: 10-fold accuracy on the lfw-devtest View-1 pairs with the TFLite model on
  YuNet-aligned chips (``align_dlib_chip``), the face nearest the photo's centre; with
  ``--faces`` (dlib run on every photo of the pairs) also dlib's own pipeline on the same folds
  and the cosine between our descriptor and dlib's for each photo.

    .venv/bin/python bench/dlib_resnet.py template --faces /tmp/dlib_faces.npz
    .venv/bin/python bench/dlib_resnet.py parity --faces /tmp/dlib_faces.npz
    .venv/bin/python bench/dlib_resnet.py lfw [--faces /tmp/dlib_lfw_all.npz]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from faceflow.detection.v1 import detection_pb2
from numpy.typing import NDArray

from services.detection.servicer import order_faces
from services.shared.alignment import DLIB_CHIP_SIZE, align_dlib_chip
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector
from services.shared.runtime import LiteModel
from training.verification import ten_fold_accuracy

DEFAULT_LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-devtest"
MIRROR = [1, 0, 2, 4, 3]  # the landmark order of a mirrored face


def _detector(store: ModelStore) -> YuNetDetector:
    return YuNetDetector.from_store(store, "yunet")


def _centre_face(detector: YuNetDetector, image: NDArray[np.uint8]) -> DetectedFace | None:
    faces = detector.detect(image, upscale=False)
    if not faces:
        return None
    height, width = image.shape[:2]
    return order_faces(faces, detection_pb2.FACE_ORDER_CENTER, width, height)[0]


def _cosine(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    products = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.asarray(products, dtype=np.float64)


def _stats(values: NDArray[np.float64]) -> dict[str, float]:
    return {"min": round(float(values.min()), 8), "mean": round(float(values.mean()), 8)}


def template(faces_npz: Path, store: ModelStore) -> dict[str, object]:
    detector = _detector(store)
    points = []
    with np.load(faces_npz) as data:
        names, transforms = data["names"], data["chip_to_image"]
    for name, chip_to_image in zip(names, transforms, strict=True):
        image = decode_image(Path(str(name)).read_bytes())
        face = _centre_face(detector, image)
        if face is None:
            continue
        image_to_chip = cv2.invertAffineTransform(chip_to_image)
        points.append(face.landmarks @ image_to_chip[:, :2].T + image_to_chip[:, 2])
    stacked = np.stack(points)
    mirrored = stacked[:, MIRROR].copy()
    mirrored[:, :, 0] = (DLIB_CHIP_SIZE - 1) - mirrored[:, :, 0]
    symmetric = np.concatenate([stacked, mirrored]).mean(axis=0)
    return {
        "faces": len(points),
        "mean": stacked.mean(axis=0).round(3).tolist(),
        "std": stacked.std(axis=0).round(2).tolist(),
        "symmetric_template": symmetric.round(4).tolist(),
    }


def _latency_ms(model: LiteModel, chip: NDArray[np.float32], runs: int = 50) -> float:
    model.run(image_rgb=chip)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        model.run(image_rgb=chip)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50))


def parity(faces_npz: Path, store: ModelStore) -> dict[str, object]:
    from training.importers.dlib_resnet_export import keras_model_from_dat

    with np.load(faces_npz) as data:
        names, chips = data["names"], data["chips"]
        reference, pipeline = data["descriptors"], data["pipeline_descriptors"]
    spec = store.spec("dlib_resnet")
    source = fetch_source(spec.source, store.cache_dir.parent / "downloads")
    keras_model = keras_model_from_dat(source, normalize=False)
    batch = chips.astype(np.float32)
    keras_out = np.concatenate([keras_model(c[np.newaxis]).numpy() for c in batch])
    lite = LiteModel(store.open("dlib_resnet").path, num_threads=2)
    lite_out = np.concatenate([lite.run(image_rgb=c[np.newaxis])["embedding"] for c in batch])
    detector = _detector(store)
    aligned, aligned_reference = [], []
    for name, expected in zip(names, pipeline, strict=True):
        image = decode_image(Path(str(name)).read_bytes())
        face = _centre_face(detector, image)
        if face is None:
            continue
        chip = align_dlib_chip(image, face.landmarks).astype(np.float32)[np.newaxis]
        aligned.append(lite.run(image_rgb=chip)["embedding"][0])
        aligned_reference.append(expected)
    return {
        "faces": len(chips),
        "keras_vs_dlib_cosine": _stats(_cosine(keras_out, reference)),
        "keras_vs_dlib_max_abs_diff_raw": float(np.abs(keras_out - reference).max()),
        "tflite_vs_dlib_cosine": _stats(_cosine(lite_out, reference)),
        "yunet_aligned_chip_vs_dlib_pipeline_cosine": {
            "faces": len(aligned),
            **_stats(_cosine(np.stack(aligned), np.stack(aligned_reference))),
        },
        "tflite_latency_ms_p50_2_threads": round(_latency_ms(lite, batch[:1]), 2),
    }


def _pair_scores(
    vectors: dict[str, NDArray[np.float32]],
    pairs: list[tuple[str, str, bool]],
    euclidean: bool = False,
) -> NDArray[np.float64]:
    """Cosine (or minus the Euclidean distance) per pair; a photo without a face counts as a
    rejected pair, as evaluation/lfw_accuracy.py does."""
    scores = np.full(len(pairs), -1e6 if euclidean else -1.0)
    for index, (a, b, _) in enumerate(pairs):
        if a in vectors and b in vectors:
            va, vb = vectors[a].astype(np.float64), vectors[b].astype(np.float64)
            if euclidean:
                scores[index] = -float(np.linalg.norm(va - vb))
            else:
                scores[index] = float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))
    return scores


def lfw(data: Path, store: ModelStore, dlib_faces: Path | None) -> dict[str, object]:
    import csv

    with (data / "pairs.csv").open(newline="") as handle:
        pairs = [(r["img_a"], r["img_b"], r["same"] == "1") for r in csv.DictReader(handle)]
    detector = _detector(store)
    lite = LiteModel(store.open("dlib_resnet").path, num_threads=2)
    vectors: dict[str, NDArray[np.float32]] = {}
    missing = 0
    for name in sorted({n for a, b, _ in pairs for n in (a, b)}):
        image = decode_image((data / name).read_bytes())
        face = _centre_face(detector, image)
        if face is None:
            missing += 1
            continue
        chip = align_dlib_chip(image, face.landmarks).astype(np.float32)[np.newaxis]
        vectors[name] = lite.run(image_rgb=chip)["embedding"][0]
    same = np.array([s for _, _, s in pairs])
    accuracy, std, threshold = ten_fold_accuracy(_pair_scores(vectors, pairs), same)
    figures: dict[str, object] = {
        "pairs": len(pairs),
        "photos": len(vectors) + missing,
        "photos_without_face": missing,
        "ten_fold_accuracy": round(accuracy, 4),
        "ten_fold_std": round(std, 4),
        "cosine_threshold_all_pairs": round(threshold, 4),
    }
    if dlib_faces is not None:
        with np.load(dlib_faces) as reference:
            dlib_vectors = {
                str(Path(str(n)).relative_to(data)): v
                for n, v in zip(reference["names"], reference["pipeline_descriptors"], strict=True)
            }
        common = sorted(set(dlib_vectors) & set(vectors))
        figures["dlib_pipeline"] = {
            "photos_with_face": len(dlib_vectors),
            "ten_fold_accuracy_euclidean": round(
                ten_fold_accuracy(_pair_scores(dlib_vectors, pairs, euclidean=True), same)[0], 4
            ),
            "ten_fold_accuracy_cosine": round(
                ten_fold_accuracy(_pair_scores(dlib_vectors, pairs), same)[0], 4
            ),
            "yunet_aligned_vs_dlib_pipeline_cosine": {
                "photos": len(common),
                **_stats(
                    _cosine(
                        np.stack([vectors[n] for n in common]),
                        np.stack([dlib_vectors[n] for n in common]),
                    )
                ),
            },
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["template", "parity", "lfw"])
    parser.add_argument(
        "--faces",
        type=Path,
        help="bench/dlib_reference.py faces output (lfw: optional, all photos)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_LFW)
    options = parser.parse_args(argv)
    store = ModelStore()
    if options.mode == "lfw":
        figures = lfw(options.data, store, options.faces)
    elif options.faces is None:
        parser.error(f"{options.mode} needs --faces")
    elif options.mode == "template":
        figures = template(options.faces, store)
    else:
        figures = parity(options.faces, store)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
