"""``faceflow watch``: reading a source at a rate, batching, and the command against the stack.

The frame reader and the batching run here without a server. The command itself runs as a
user runs it (``python -m faceflow_sdk watch``) on a clip composed from lfw-devtest photos
against the real processes, and once without OpenCV installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceflow_sdk import FaceflowClient
from faceflow_sdk.watch import (
    INSTALL_HINT,
    SampledFrame,
    Source,
    WatchSummary,
    batches,
    read_ahead,
    sample_frames,
)
from tests.clients.stack import Stack
from tests.clients.test_cli import REPO_ROOT, faceflow
from tests.helpers.video_clips import check_events, photo_path, recognition_scene, write_clip


@pytest.fixture(scope="module")
def clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recognition scene (9 s, 15 fps, 640x480) as an mp4 file."""
    path = tmp_path_factory.mktemp("watch") / "scene.mp4"
    write_clip(recognition_scene(), shared_data, path, 15.0, "mp4v")
    return path


def test_sources() -> None:
    assert Source.parse("0") == Source(0, live=True)
    assert Source.parse("rtsp://camera.local/stream1") == Source(
        "rtsp://camera.local/stream1", live=True
    )
    assert Source.parse("HTTPS://cam/x.mjpg").live
    with pytest.raises(ValueError, match="no such file"):
        Source.parse("/no/such/video.mp4")


def test_a_file_is_sampled_by_its_own_clock(clip: Path) -> None:
    frames = list(sample_frames(Source.parse(str(clip)), 5.0))
    assert [f.time_ms for f in frames] == [round(i * 200) for i in range(45)]
    assert all(f.jpeg[:2] == b"\xff\xd8" for f in frames)
    assert len(list(sample_frames(Source.parse(str(clip)), 2.0, max_seconds=3.0))) == 7
    small = next(sample_frames(Source.parse(str(clip)), 1.0, max_side=320))
    image = cv2.imdecode(np.frombuffer(small.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (240, 320, 3)


def frames(times: list[int]) -> Iterator[SampledFrame]:
    return (SampledFrame(t, b"jpeg") for t in times)


def test_batches_span_the_batch_time() -> None:
    grouped = [[f.time_ms for f in b] for b in batches(frames(list(range(0, 2000, 200))), 1000)]
    assert grouped == [[0, 200, 400, 600, 800], [1000, 1200, 1400, 1600, 1800]]
    assert [len(b) for b in batches(frames(list(range(60))), 10_000, max_frames=50)] == [50, 10]
    assert list(batches(frames([]), 1000)) == []


def test_a_file_waits_for_the_server_a_camera_does_not() -> None:
    """A live source drops the oldest waiting batches when the sender falls behind."""
    taken, read_all = threading.Event(), threading.Event()

    def source(count: int, wait_after_first: bool) -> Iterator[list[SampledFrame]]:
        for index in range(count):
            yield [SampledFrame(index * 1000, b"jpeg")]
            if index == 0 and wait_after_first:
                assert taken.wait(10)
        read_all.set()

    summary = WatchSummary()
    stop = threading.Event()
    files = read_ahead(source(10, False), live=False, summary=summary, stop=stop, depth=2)
    assert [b[0].time_ms for b in files] == [i * 1000 for i in range(10)]
    assert summary.batches_dropped == 0

    read_all.clear()
    live = read_ahead(source(10, True), live=True, summary=summary, stop=threading.Event(), depth=2)
    assert next(live)[0].time_ms == 0  # the sender takes the first batch, then is slow...
    taken.set()
    assert read_all.wait(10)  # ...while the camera delivers nine more
    assert [b[0].time_ms for b in live] == [8000, 9000]
    assert summary.batches_dropped == 7


@pytest.mark.e2e
def test_watch_a_file_prints_one_line_per_person(
    stack: Stack, client: FaceflowClient, clip: Path, shared_data: Path, tmp_path: Path
) -> None:
    scene = recognition_scene()
    group = f"watch-{tmp_path.name[-10:]}".replace("_", "-")
    client.create_group(group)
    for person, photos in scene.enrolment.items():
        for photo in photos:
            client.enroll(group, person, photo_path(shared_data, photo))
    output = tmp_path / "events.jsonl"
    done = faceflow(
        "watch", clip, "--group", group, "--batch", "0.6", "--output", output, stack=stack
    )
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    check_events(printed, scene)
    assert [json.loads(line) for line in output.read_text().splitlines()] == printed
    assert "5 track(s) from 45 frames in 15 batches" in done.stderr
    assert all("first_seen_at" not in event for event in printed)  # a file: no wall clock


def test_watch_without_opencv_says_how_to_install_it(tmp_path: Path, clip: Path) -> None:
    """The base SDK has no OpenCV: the command says which extra to install, before it opens
    a stream on the server (none answers here)."""
    blocker = tmp_path / "no-opencv"
    (blocker / "cv2").mkdir(parents=True)
    (blocker / "cv2" / "__init__.py").write_text("raise ImportError('no OpenCV here')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEFLOW_")}
    env["PYTHONPATH"] = f"{blocker}{os.pathsep}{REPO_ROOT}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "faceflow_sdk",
            "--url",
            "http://127.0.0.1:9",
            "--api-key",
            "k",
            "watch",
            str(clip),
            "--group",
            "g",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert INSTALL_HINT in done.stderr
