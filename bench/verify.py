"""/verify latency: over HTTP vs the bare models, vs OpenCV YuNet+SFace, vs face_recognition (dlib).

Two 640x480 JPEG photos of the same person (../shared/data when present, else the astronaut
and a reframed copy). Paths timed, each end to end from the JPEG bytes:
- HTTP: ``POST /api/v1/verify`` (image_a + image_b) to a gateway with real detection and
  embedding service processes (the ``make run`` launcher, started here on free ports);
- bare: decode + YuNet + align + SFace for both photos in this process (TFLite, 2 threads),
  what the services compute minus transport; the target is HTTP p50 <= 1.5x bare p50;
- OpenCV: ``cv2.FaceDetectorYN`` (native size) + ``FaceRecognizerSF.alignCrop/feature`` on the
  same ONNX files;
- dlib: ``face_recognition`` (HOG detector + ResNet) when a benchmark venv exists at
  /tmp/ff/dlibenv (see docs/embedding.md for how it is made);
- with ``--compare-model M [M ...]``: HTTP again, to one more stack per embedder M (e.g. the
  ``sface_dlib`` fusion) whose embedding service serves it, interleaved with the others; its
  p50 over the default stack's is the cost of serving M (issue 12's budget: <= 1.5x).

    .venv/bin/python bench/verify.py [--runs 30] [--compare-model sface_dlib sface_facenet]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from numpy.typing import NDArray

from bench.common import SHARED_DATA, jpeg, measure, summary
from deploy.local.stack import embedder_env, running_stack
from evaluation.local_pipeline import LocalPipeline
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from tests.helpers import images

DLIB_PYTHON = Path("/tmp/ff/dlibenv/bin/python")
BASELINE_MODEL = "sface"  # the default embedder, set explicitly (not inherited from the shell)
DLIB_SNIPPET = """
import sys, time, json, face_recognition, numpy as np
paths, runs = sys.argv[1:3], int(sys.argv[3])
def once():
    encodings = []
    for path in paths:
        image = face_recognition.load_image_file(path)
        boxes = face_recognition.face_locations(image)
        encodings.append(face_recognition.face_encodings(image, boxes)[0])
    return float(np.linalg.norm(encodings[0] - encodings[1]))
once()
times = []
for _ in range(runs):
    started = time.perf_counter()
    distance = once()
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps({"times": times, "distance": distance}))
"""


def cover(photo: NDArray[np.uint8], width: int = 640, height: int = 480) -> NDArray[np.uint8]:
    """Scale to cover width x height and crop (near the top: portraits keep the head)."""
    scale = max(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)))
    top, left = (resized.shape[0] - height) // 5, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def photo_pair() -> tuple[bytes, bytes, str]:
    """Two 640x480 JPEGs of one person and where they come from."""
    folder = SHARED_DATA / "photos" / "people" / "obama"
    found = [cv2.imread(str(folder / name)) for name in ("obama.jpg", "obama1.jpg")]
    if all(image is not None for image in found):
        rgb = [
            np.asarray(image[:, :, ::-1], dtype=np.uint8) for image in found if image is not None
        ]
        return jpeg(cover(rgb[0])), jpeg(cover(rgb[1])), "shared/data photos/people/obama"
    astronaut = images.astronaut()
    return jpeg(cover(astronaut)), jpeg(cover(astronaut[20:460, 40:480])), "skimage astronaut"


def opencv_verify(onnx_detector: Path, onnx_sface: Path, a: bytes, b: bytes) -> Callable[[], float]:
    """OpenCV's own pipeline on the same photos; returns a callable timing target."""
    detector = cv2.FaceDetectorYN.create(str(onnx_detector), "", (640, 480), 0.6, 0.3, 5000)
    recognizer = cv2.FaceRecognizerSF.create(str(onnx_sface), "")

    def run() -> float:
        features = []
        for data in (a, b):
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise RuntimeError("cannot decode the benchmark photo")
            detector.setInputSize((image.shape[1], image.shape[0]))
            _, faces = detector.detect(image)
            face = max(faces, key=lambda row: row[2] * row[3])
            features.append(recognizer.feature(recognizer.alignCrop(image, face)))
        return float(recognizer.match(features[0], features[1], cv2.FaceRecognizerSF_FR_COSINE))

    return run


def dlib_times(a: bytes, b: bytes, runs: int) -> list[float] | None:
    """face_recognition timings from its separate venv, or None when it is not installed."""
    if not DLIB_PYTHON.is_file():
        return None
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "a.jpg", Path(folder) / "b.jpg"]
        paths[0].write_bytes(a)
        paths[1].write_bytes(b)
        result = subprocess.run(
            [str(DLIB_PYTHON), "-c", DLIB_SNIPPET, *map(str, paths), str(runs)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    if result.returncode != 0:
        sys.stderr.write(f"face_recognition failed: {result.stderr[-500:]}\n")
        return None
    times: list[float] = json.loads(result.stdout.strip().splitlines()[-1])["times"]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--compare-model", nargs="*", default=[], help="also time /verify with these embedders"
    )
    options = parser.parse_args()
    clashes = {BASELINE_MODEL, "http", "bare", "opencv"} & set(options.compare_model)
    if clashes:
        parser.error(f"--compare-model: {', '.join(sorted(clashes))} is already timed")
    a, b, source = photo_pair()
    store = ModelStore()
    downloads = store.cache_dir.parent / "downloads"
    onnx_detector = fetch_source(store.spec("yunet").source, downloads)
    onnx_sface = fetch_source(store.spec("sface").source, downloads)
    pipeline = LocalPipeline.load(store)

    def bare() -> float:
        first, second = pipeline.embed_image(a), pipeline.embed_image(b)
        assert first is not None and second is not None  # our own photos have a face
        return float(first @ second)

    opencv = opencv_verify(onnx_detector, onnx_sface, a, b)
    with contextlib.ExitStack() as context:
        folder = Path(context.enter_context(tempfile.TemporaryDirectory(prefix="faceflow-verify-")))

        def http_verify(model: str) -> Callable[[], dict[str, Any]]:
            stack = context.enter_context(
                running_stack(
                    folder / model, ("detection", "embedding"), extra_env=embedder_env(model)
                )
            )
            http = context.enter_context(
                httpx.Client(base_url=stack.url, headers={"x-api-key": stack.api_key})
            )

            def call() -> dict[str, Any]:
                files = {
                    "image_a": ("a.jpg", a, "image/jpeg"),
                    "image_b": ("b.jpg", b, "image/jpeg"),
                }
                response = http.post("/api/v1/verify", files=files, timeout=30)
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

            return call

        over_http = http_verify(BASELINE_MODEL)
        # Interleaved, one call of each path per round, so that load from other processes on
        # this shared machine falls on every path alike.
        paths: dict[str, Callable[[], object]] = {"http": over_http, "bare": bare, "opencv": opencv}
        compares = {model: http_verify(model) for model in options.compare_model}
        paths.update(compares)
        timings: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(options.runs):
            for name, function in paths.items():
                timings[name].extend(measure(function, 1, warmup=0 if timings[name] else 3))
        same = over_http()
        compared = {model: call() for model, call in compares.items()}
    http_ms, bare_ms, opencv_ms = timings["http"], timings["bare"], timings["opencv"]
    sys.stdout.write(f"photos: two 640x480 JPEGs from {source}; {options.runs} runs each\n")
    sys.stdout.write(f"verify over HTTP (2 processes + gateway): {summary(http_ms)}\n")
    sys.stdout.write(f"bare detect+embed x2 in-process:           {summary(bare_ms)}\n")
    sys.stdout.write(f"OpenCV YuNet+SFace x2 (same ONNX):         {summary(opencv_ms)}\n")
    dlib = dlib_times(a, b, max(5, options.runs // 3))
    if dlib is not None:
        sys.stdout.write(f"face_recognition (dlib HOG+ResNet) x2:     {summary(dlib)}\n")
    else:
        sys.stdout.write("face_recognition (dlib): not installed at /tmp/ff/dlibenv, skipped\n")
    ratio = float(np.median(http_ms) / np.median(bare_ms))
    sys.stdout.write(f"HTTP / bare p50: {ratio:.2f}x (target <= 1.5x)\n")
    sys.stdout.write(f"answer: score {same['score']}, same_person {same['same_person']}\n")
    for model, answer in compared.items():
        cost = float(np.median(timings[model]) / np.median(http_ms))
        sys.stdout.write(f"verify over HTTP, {model}: {summary(timings[model])}\n")
        sys.stdout.write(f"{model} / default HTTP p50: {cost:.2f}x (budget 1.5x)\n")
        sys.stdout.write(
            f"{model} answer: score {answer['score']}, same_person {answer['same_person']}\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
