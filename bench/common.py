"""Helpers shared by the benchmark scripts: timing, percentiles, test photos, the local stack."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

SHARED_DATA = Path(
    os.environ.get("FACEFLOW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def measure(function: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call for runs calls after warmup calls."""
    for _ in range(warmup):
        function()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000.0)
    return timings


def measure_interleaved(
    functions: dict[str, Callable[[], object]], runs: int, warmup: int = 3, block: int = 1
) -> dict[str, list[float]]:
    """Milliseconds per call of each function: ``runs`` calls each, taken in turns of
    ``block`` consecutive calls per function.

    On a shared machine whose speed drifts, timing one path after another lets the drift land
    on one path; taking turns spreads it over all of them, so their ratios stay meaningful.
    Turns of several calls keep one path's leftovers (an inference thread pool that spins for a
    while after its last job, in another process) from landing on the next path's first call.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    timings: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(max(1, runs // block)):
        for name, function in functions.items():
            for _ in range(block):
                started = time.perf_counter()
                function()
                timings[name].append((time.perf_counter() - started) * 1000.0)
    return timings


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    return float(np.percentile(np.asarray(values), q))


def summary(values: list[float]) -> str:
    """p50 / p95 / mean in ms."""
    return (
        f"p50 {percentile(values, 50):7.2f} ms  p95 {percentile(values, 95):7.2f} ms  "
        f"mean {statistics.fmean(values):7.2f} ms"
    )


def real_photo() -> NDArray[np.uint8]:
    """An RGB photo of a person: ../shared/data when present, else scikit-image's astronaut."""
    people = sorted((SHARED_DATA / "photos" / "people").glob("*.jpg"))
    if people:
        image = cv2.imread(str(people[0]))
        if image is not None:
            return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def photo_at(width: int, height: int) -> NDArray[np.uint8]:
    """The real photo scaled to cover width x height, centre-cropped."""
    photo = real_photo()
    scale = max(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)))
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def jpeg(image: NDArray[np.uint8], quality: int = 92) -> bytes:
    """JPEG bytes of an RGB image."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
