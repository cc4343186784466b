"""Compression table: size, latency and accuracy change of quantized served models.

For each model and variant (the served float32 file, and the float16 / int8 files written by
``python -m training quantize``): file size, batch-1 LiteRT latency (2 threads, p50), and
- SFace: mean cosine between float32 and quantized embeddings of the same aligned faces, and
  LFW-devtest 10-fold accuracy / TAR@FAR=1e-2 on the 1,000 View-1 pairs (aligned by YuNet);
- emotion: top-1 agreement with the float32 model on the FER2013 sample crops;
- YuNet: on the group photos and ``--lfw-count`` LFW-devtest photos, the share of photos with
  the same face count as float32, and for faces matched to float32's (greedy, IoU >= 0.5) the
  mean box IoU and mean landmark distance in pixels; recall on the LFW photos (a face whose
  box holds the photo's centre, where LFW puts its subject);
- age / gender: on the UTKFace sample, faces found by float32 YuNet and cut by the attribute
  service's own chip code; age MAE against the labels and mean |age - float32 age|, gender
  accuracy against the labels and agreement with float32.
- MiniFASNet V2 / V1SE: on the liveness samples and ``--lfw-count`` LFW-devtest photos (every
  n-th file from the second, so none of the files ``quantize --calibration`` takes from the same
  folder), the largest YuNet face cut by the liveness service's own code; agreement of the
  live/spoof decision (real-class probability >= 0.5) with float32 and mean |real-class
  probability - float32's|;
- FaceMesh: on the same LFW photos, the largest face cut by the detection service's FaceMesh
  code; mean distance of the 468 landmarks (x, y in 192x192 crop pixels) from float32's.
Variants that are missing are not listed. Quantized MiniFASNet files are made from the Keras
rebuild of the .pth, FaceMesh from the graph ``training.importers.tflite_graph`` replays.

    .venv/bin/python bench/compression.py --quant-dir DIR [--aligned DIR] [--runs 30]
        [--models sface emotion yunet age gender minifasnet_v2 minifasnet_v1se facemesh]
        [--lfw-count 300]
(``--aligned``, needed for sface: ``python -m training align --src
../shared/data/lfw-devtest/images --dst DIR/images``; ``--quant-dir``: the ``--output-dir`` of
``python -m training quantize``.)
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.common import measure, percentile
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.age import AGE_CHIP_SIZE, age_from_probabilities
from services.shared.model_zoo.face_chips import dlib_tensor, extract_face_chip
from services.shared.model_zoo.gender import GENDER_CHIP_SIZE
from services.shared.model_zoo.minifasnet import REAL_CLASS, softmax
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector, letterbox_bgr
from services.shared.runtime import LiteModel
from training.compression.calibration import LIVENESS_MODELS, emotion_input, service_inputs
from training.data.folders import load_images
from training.data.pairs import read_pairs
from training.verification import evaluate_scores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODES = ("float32", "float16", "int8")
MODELS = ("sface", "emotion", "yunet", "age", "gender", *LIVENESS_MODELS, "facemesh")


def _variants(name: str, quant_dir: Path, store: ModelStore) -> dict[str, Path]:
    found = {"float32": store.open(name).path}
    for mode in MODES[1:]:
        path = quant_dir / f"{name}-{mode}.tflite"
        if path.is_file():
            found[mode] = path
    return found


def _runner(
    path: Path, output: str | None = None
) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    """Batch-1 run of one sample, returning one output (by name; default the first) flattened."""
    lite = LiteModel(path, 2)
    output = output or lite.output_names[0]

    def run(sample: NDArray[np.float32]) -> NDArray[np.float32]:
        return lite.run(**{lite.input_name: sample[np.newaxis]})[output].reshape(-1)

    return run


def _latency(
    run: Callable[[NDArray[np.float32]], NDArray[np.float32]],
    sample: NDArray[np.float32],
    runs: int,
) -> list[float]:
    return measure(lambda: run(sample), runs)


def _row(model: str, mode: str, path: Path, latency: list[float], quality: str) -> str:
    size = path.stat().st_size / 1e6
    return f"| {model} | {mode} | {size:6.2f} MB | {percentile(latency, 50):7.2f} ms | {quality} |"


def bench_sface(quant_dir: Path, aligned: Path, store: ModelStore, runs: int) -> list[str]:
    pairs = read_pairs(SHARED / "lfw-devtest" / "pairs.csv", aligned, ".png")
    paths = pairs.images()
    faces = load_images(paths, size=(112, 112)).astype(np.float32)
    index = {p: i for i, p in enumerate(paths)}
    rows, reference = [], None
    for mode, path in _variants("sface", quant_dir, store).items():
        run = _runner(path)
        vectors = np.stack([run(face) for face in faces])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        scores = np.sum(
            vectors[[index[p] for p in pairs.first]] * vectors[[index[p] for p in pairs.second]],
            axis=1,
        )
        report = evaluate_scores(scores, pairs.same)
        if reference is None:
            reference = vectors
        agreement = float(np.mean(np.sum(vectors * reference, axis=1)))
        tar = report.tar_at_far[1e-2]
        quality = (
            f"LFW-devtest {100 * report.accuracy:.2f}% ± {100 * report.accuracy_std:.2f}, "
            f"TAR@FAR1e-2 {100 * (tar or 0):.1f}%, cosine vs float32 {agreement:.4f} "
            f"({len(faces)} faces)"
        )
        rows.append(_row("sface", mode, path, _latency(run, faces[0], runs), quality))
    return rows


def bench_emotion(quant_dir: Path, store: ModelStore, runs: int) -> list[str]:
    folder = SHARED / "attributes-sample" / "fer"
    files = sorted(folder.glob("*.jpg"))
    samples = np.stack([emotion_input(p) for p in files])
    rows, reference = [], None
    for mode, path in _variants("emotion", quant_dir, store).items():
        run = _runner(path)
        predicted = np.array([int(np.argmax(run(s))) for s in samples])
        if reference is None:
            reference = predicted
        agreement = float(np.mean(predicted == reference))
        quality = f"top-1 agreement with float32 {100 * agreement:.1f}% ({len(samples)} FER crops)"
        rows.append(_row("emotion", mode, path, _latency(run, samples[0], runs), quality))
    return rows


class _RenamedYuNet(YuNetDetector):
    """YuNet whose outputs are named back from their shapes when they lack the ONNX names.

    ``python -m training quantize`` now keeps onnx2tf's output names (``cls_8``...), and such
    files pass through unchanged; files quantized before that fix come out as ``output_0..11``,
    and for them each head is recognised by its shape: anchors per stride (6400/1600/400 for
    8/16/32) and width (1: cls then obj, 4: bbox, 10: kps). cls and obj have the same shape,
    but the score is sqrt(cls * obj), so which is which does not change the result.
    """

    def raw_outputs(self, tensor: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
        outputs = super().raw_outputs(tensor)
        if "cls_8" in outputs:
            return outputs
        heads = {1: ("cls", "obj"), 4: ("bbox",), 10: ("kps",)}
        renamed: dict[str, NDArray[np.float32]] = {}
        for key in sorted(outputs, key=lambda k: int(k.rsplit("_", 1)[-1])):
            value = outputs[key]
            stride = round((640 * 640 / value.shape[1]) ** 0.5)
            name = next(
                f"{h}_{stride}" for h in heads[value.shape[-1]] if f"{h}_{stride}" not in renamed
            )
            renamed[name] = value
        return renamed


def _detector(path: Path, store: ModelStore) -> YuNetDetector:
    return _RenamedYuNet(LiteModel(path, 2), store.spec("yunet"))


def _iou(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _match(
    faces: list[DetectedFace], reference: list[DetectedFace]
) -> list[tuple[DetectedFace, DetectedFace, float]]:
    """Greedy one-to-one matching by IoU (>= 0.5), highest IoU first."""
    pairs = sorted(
        ((_iou(f.box, r.box), i, j) for i, f in enumerate(faces) for j, r in enumerate(reference)),
        reverse=True,
    )
    used_f: set[int] = set()
    used_r: set[int] = set()
    matched = []
    for iou, i, j in pairs:
        if iou < 0.5 or i in used_f or j in used_r:
            continue
        used_f.add(i)
        used_r.add(j)
        matched.append((faces[i], reference[j], iou))
    return matched


def _holds_centre(faces: list[DetectedFace], image: NDArray[np.uint8]) -> bool:
    cy, cx = image.shape[0] / 2.0, image.shape[1] / 2.0
    return any(
        f.box[0] <= cx <= f.box[0] + f.box[2] and f.box[1] <= cy <= f.box[1] + f.box[3]
        for f in faces
    )


def _detector_latency(detector: YuNetDetector, image: NDArray[np.uint8], runs: int) -> list[float]:
    """The network alone on one letterboxed photo (decode + NMS excluded)."""
    tensor = letterbox_bgr(image).tensor
    return measure(lambda: detector.raw_outputs(tensor), runs)


def bench_yunet(quant_dir: Path, store: ModelStore, runs: int, lfw_count: int) -> list[str]:
    groups = sorted((SHARED / "photos" / "groups").glob("*.jpg"))
    lfw_all = sorted((SHARED / "lfw-devtest" / "images").rglob("*.jpg"))
    lfw = lfw_all[:: max(1, len(lfw_all) // lfw_count)][:lfw_count]
    images = [decode_image(p.read_bytes()) for p in groups + lfw]
    rows: list[str] = []
    reference: list[list[DetectedFace]] | None = None
    for mode, path in _variants("yunet", quant_dir, store).items():
        detector = _detector(path, store)
        found = [detector.detect(image) for image in images]
        if reference is None:
            reference = found
        same_count = np.mean([len(f) == len(r) for f, r in zip(found, reference, strict=True)])
        matched = [m for f, r in zip(found, reference, strict=True) for m in _match(f, r)]
        total = sum(len(r) for r in reference)
        ious = [iou for _, _, iou in matched]
        points = [
            float(np.mean(np.linalg.norm(f.landmarks - r.landmarks, axis=1))) for f, r, _ in matched
        ]
        recall = np.mean(
            [
                _holds_centre(f, im)
                for f, im in zip(found[len(groups) :], images[len(groups) :], strict=True)
            ]
        )
        faces_group = sum(len(f) for f in found[: len(groups)])
        quality = (
            f"same face count as float32 on {100 * same_count:.1f}% of {len(images)} photos "
            f"({len(groups)} group photos: {faces_group} faces), {len(matched)}/{total} float32 "
            f"faces matched, box IoU {np.mean(ious):.4f}, landmarks {np.mean(points):.2f} px; "
            f"LFW-devtest recall {100 * recall:.1f}% ({len(lfw)} photos)"
        )
        rows.append(
            _row("yunet", mode, path, _detector_latency(detector, images[0], runs), quality)
        )
    return rows


def bench_attributes(quant_dir: Path, store: ModelStore, runs: int, models: list[str]) -> list[str]:
    folder = SHARED / "attributes-sample"
    detector = _detector(store.open("yunet").path, store)
    with (folder / "labels.csv").open() as handle:
        labels = [r for r in csv.DictReader(handle) if r["image"].startswith("utk/")]
    chips: dict[int, list[NDArray[np.float32]]] = {AGE_CHIP_SIZE: [], GENDER_CHIP_SIZE: []}
    ages, genders = [], []
    for row in labels:
        image = decode_image((folder / row["image"]).read_bytes())
        faces = detector.detect(image)
        if not faces:
            continue
        face = max(faces, key=lambda f: f.area)
        for size, tensors in chips.items():
            tensors.append(dlib_tensor(extract_face_chip(image, face.landmarks, size))[0])
        ages.append(float(row["age"]))
        genders.append(row["gender"])
    true_age = np.array(ages)
    rows: list[str] = []
    for name, size in (("age", AGE_CHIP_SIZE), ("gender", GENDER_CHIP_SIZE)):
        if name not in models:
            continue
        samples = chips[size]
        reference = None
        for mode, path in _variants(name, quant_dir, store).items():
            run = _runner(path)
            outputs = [run(s) for s in samples]
            if name == "age":
                values = np.array([age_from_probabilities(o).value for o in outputs])
                reference = values if reference is None else reference
                quality = (
                    f"age MAE {np.mean(np.abs(values - true_age)):.2f} y, "
                    f"mean abs diff vs float32 {np.mean(np.abs(values - reference)):.3f} y "
                    f"({len(samples)} of {len(labels)} UTKFace crops with a face)"
                )
            else:
                predicted = np.array(["male" if o[1] > o[0] else "female" for o in outputs])
                reference = predicted if reference is None else reference
                quality = (
                    f"gender accuracy {100 * np.mean(predicted == np.array(genders)):.1f}%, "
                    f"agreement with float32 {100 * np.mean(predicted == reference):.1f}% "
                    f"({len(samples)} of {len(labels)} UTKFace crops with a face)"
                )
            rows.append(_row(name, mode, path, _latency(run, samples[0], runs), quality))
    return rows


def _lfw_photos(count: int, offset: int) -> list[Path]:
    """Every n-th LFW-devtest photo from offset (offset 1 avoids the files calibration takes)."""
    files = sorted((SHARED / "lfw-devtest" / "images").rglob("*.jpg"))
    return files[offset :: max(1, len(files) // count)][:count]


def bench_liveness(
    quant_dir: Path, store: ModelStore, runs: int, lfw_count: int, models: list[str]
) -> list[str]:
    """MiniFASNet: live/spoof decision agreement and mean |real probability diff| vs float32."""
    samples = sorted((SHARED / "liveness-samples").glob("*.jpg"))
    lfw = _lfw_photos(lfw_count, 1)
    detector = _detector(store.open("yunet").path, store)
    rows: list[str] = []
    for name in (m for m in LIVENESS_MODELS if m in models):
        own = service_inputs(name, samples, detector, store)
        crops = np.concatenate([own, service_inputs(name, lfw, detector, store)])
        reference = None
        for mode, path in _variants(name, quant_dir, store).items():
            run = _runner(path, "logits")
            real = softmax(np.stack([run(c) for c in crops]))[:, REAL_CLASS]
            reference = real if reference is None else reference
            agreement = np.mean((real >= 0.5) == (reference >= 0.5))
            quality = (
                f"live/spoof decision agreement with float32 {100 * agreement:.1f}%, real-class "
                f"probability mean abs diff {np.mean(np.abs(real - reference)):.4f} "
                f"({len(crops)} crops: "
                f"{len(own)} of {len(samples)} liveness samples, {len(crops) - len(own)} of "
                f"{len(lfw)} LFW photos)"
            )
            rows.append(_row(name, mode, path, _latency(run, crops[0], runs), quality))
    return rows


def bench_facemesh(quant_dir: Path, store: ModelStore, runs: int, lfw_count: int) -> list[str]:
    """FaceMesh: mean landmark distance (x, y in 192x192 crop pixels) vs float32."""
    detector = _detector(store.open("yunet").path, store)
    crops = service_inputs("facemesh", _lfw_photos(lfw_count, 1), detector, store)
    rows: list[str] = []
    reference = None
    for mode, path in _variants("facemesh", quant_dir, store).items():
        run = _runner(path, "conv2d_20")
        points = np.stack([run(c).reshape(-1, 3)[:, :2] for c in crops])
        reference = points if reference is None else reference
        distance = np.linalg.norm(points - reference, axis=-1)
        quality = (
            f"landmarks vs float32 {np.mean(distance):.3f} px mean, "
            f"{np.percentile(distance.mean(axis=1), 95):.3f} px p95 per face "
            f"(192x192 crop pixels, {len(crops)} LFW faces)"
        )
        rows.append(_row("facemesh", mode, path, _latency(run, crops[0], runs), quality))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quant-dir", type=Path, required=True)
    parser.add_argument(
        "--aligned", type=Path, default=None, help="aligned lfw-devtest root (for sface)"
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument(
        "--lfw-count", type=int, default=300, help="LFW photos for YuNet, MiniFASNet, FaceMesh"
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.stderr.write(f"{SHARED} is missing: the table needs the real photos\n")
        return 1
    store = ModelStore()
    lines = [
        "| model | variant | size | p50 latency (batch 1, 2 threads) | accuracy / agreement |",
        "| --- | --- | --- | --- | --- |",
    ]
    if "sface" in args.models:
        if args.aligned is None:
            parser.error("--aligned is required to measure sface")
        lines += bench_sface(args.quant_dir, args.aligned, store, args.runs)
    if "emotion" in args.models:
        lines += bench_emotion(args.quant_dir, store, args.runs)
    if "yunet" in args.models:
        lines += bench_yunet(args.quant_dir, store, args.runs, args.lfw_count)
    if {"age", "gender"} & set(args.models):
        lines += bench_attributes(args.quant_dir, store, args.runs, args.models)
    if set(LIVENESS_MODELS) & set(args.models):
        lines += bench_liveness(args.quant_dir, store, args.runs, args.lfw_count, args.models)
    if "facemesh" in args.models:
        lines += bench_facemesh(args.quant_dir, store, args.runs, args.lfw_count)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
