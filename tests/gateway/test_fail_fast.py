"""Fail fast and shed load, with the real processes of `make run`: a paused service is answered
503 within about a second instead of at the 10 s deadline, and a service whose queue is full
answers 429 with Retry-After instead of queueing callers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from deploy.local.stack import Stack, running_stack
from tests.helpers import images

DEADLINE_SECONDS = 10.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One handler thread and no queue: a second concurrent detection is shed at once.
    overrides = {
        "FACEFLOW_DETECTION_MAX_WORKERS": "1",
        "FACEFLOW_DETECTION_MAX_QUEUED_RPCS": "0",
        "FACEFLOW_GATEWAY_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
        "FACEFLOW_GATEWAY_RATE_LIMIT_PER_MINUTE": "0",
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        with running_stack(tmp_path_factory.mktemp("fail-fast"), services=["detection"]) as s:
            yield s
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def detect(stack: Stack, photo: bytes) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.post(
        f"{stack.url}/api/v1/detect",
        headers={"x-api-key": stack.api_key},
        files={"image": ("photo.jpg", photo, "image/jpeg")},
        timeout=30,
    )
    return response, time.perf_counter() - started


def large_photo() -> bytes:
    return images.encode(np.asarray(cv2.resize(images.astronaut(), (1920, 1080)), dtype=np.uint8))


def test_a_full_queue_is_shed_with_429_and_retry_after(stack: Stack) -> None:
    photo = large_photo()
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = [r for r, _ in pool.map(lambda _: detect(stack, photo), range(12))]
    statuses = sorted({r.status_code for r in replies})
    assert statuses == [200, 429], [r.text for r in replies if r.status_code not in (200, 429)]
    shed = next(r for r in replies if r.status_code == 429)
    assert shed.json()["error"]["code"] == "RATE_LIMITED"
    assert shed.json()["error"]["message"] == "the detection service is busy; try again shortly"
    assert shed.headers["retry-after"] == "1"


def test_a_paused_service_is_answered_503_at_once_and_recovers(stack: Stack) -> None:
    assert detect(stack, images.astronaut_jpeg())[0].status_code == 200
    process = stack.launcher.children["detection"]
    process.send_signal(signal.SIGSTOP)
    try:
        # The first request goes out before the health checks notice: it is cut short.
        in_flight, waited = detect(stack, images.astronaut_jpeg())
        assert in_flight.status_code == 503, in_flight.text
        assert in_flight.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert waited < DEADLINE_SECONDS / 4
        time.sleep(1.0)
        refused, waited = detect(stack, images.astronaut_jpeg())
        assert refused.status_code == 503
        assert refused.json()["error"]["message"] == "the detection service is unavailable"
        assert waited < 1.0
        ready = httpx.get(f"{stack.url}/readyz", timeout=10)
        assert ready.status_code == 503
    finally:
        process.send_signal(signal.SIGCONT)
    recovered_by = time.monotonic() + 10
    while time.monotonic() < recovered_by:
        if detect(stack, images.astronaut_jpeg())[0].status_code == 200:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the detection service was not used again after SIGCONT")


def test_logs_name_the_change(stack: Stack) -> None:
    log = Path(stack.data_dir / "logs" / "gateway.log").read_text()
    assert "service health: SERVING -> DOWN detection: DEADLINE_EXCEEDED" in log
    assert "service health: DOWN -> SERVING" in log
