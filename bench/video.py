"""Video recognition: frames per second sustained on this machine at 640x480, 1 and 3 faces.

Clips are composed from lfw-devtest portraits (``tests/helpers/video_clips.py``): 640x480,
15 fps, ``--seconds`` long, a camera panning and zooming; in one a single person is in view
the whole time, in the other three people are. Detection + embedding + the gateway start as
real processes (the launcher of ``make run``; all on this machine's cores), a group holds the
people (enrolled from other photos of them), and each clip is posted to
``POST /api/v1/videos/recognize``:

- with ``fps=15`` every frame is analysed: frames analysed / wall time of the request is the
  **sustained rate** (decode, JPEG, Detect RPC with aligned crops, Embed RPC, quality, tracking,
  one search per track, JSON);
- with the default ``fps=5``: how many seconds of video one second of this machine handles
  (a real-time factor of 3 means three 5-fps cameras);
- the same clip through ``faceflow watch``'s path (``POST /videos/streams`` + 1 s batches of
  JPEG frames read with OpenCV on the client) at 5 fps;
- bare, in-process: decode + YuNet + align + SFace on every frame with the services' own
  classes (2 threads), no RPC, no tracking: the floor.

    .venv/bin/python bench/video.py                 # 20 s clips, 3 runs each
    .venv/bin/python bench/video.py --seconds 10 --runs 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

from bench.common import SHARED_DATA
from deploy.local.stack import running_stack
from evaluation.local_pipeline import LocalPipeline
from faceflow_sdk.client import FaceflowClient
from faceflow_sdk.watch import Source, Watcher, batches, sample_frames
from tests.helpers.video_clips import (
    ENROLLED,
    Appearance,
    CameraKey,
    Keyframe,
    Scene,
    photo_path,
    write_clip,
)

FPS = 15.0
GROUP = "bench-video"


def one_face(seconds: float) -> Scene:
    """Paul Martin in view the whole clip, walking slowly and coming closer."""
    paul = Appearance(
        "Paul_Martin",
        "Paul_Martin_0004.jpg",
        (
            Keyframe(0.0, 250, 260, 150),
            Keyframe(seconds / 2, 450, 255, 190),
            Keyframe(seconds, 300, 265, 170),
        ),
        enrolled=True,
    )
    return Scene((paul,), _camera(seconds), seconds, enrolment=dict(ENROLLED))


def three_faces(seconds: float) -> Scene:
    """Paul Martin, Emma Watson and a bystander in view the whole clip."""
    people = (
        ("Paul_Martin", "Paul_Martin_0004.jpg", 200, True),
        ("Emma_Watson", "Emma_Watson_0004.jpg", 400, True),
        ("Carlos_Ghosn", "Carlos_Ghosn_0001.jpg", 590, False),
    )
    appearances = tuple(
        Appearance(
            name,
            photo,
            (
                Keyframe(0.0, x, 260, 140),
                Keyframe(seconds / 2, x + 25, 250, 160),
                Keyframe(seconds, x - 10, 262, 150),
            ),
            enrolled=enrolled,
        )
        for name, photo, x, enrolled in people
    )
    return Scene(appearances, _camera(seconds), seconds, enrolment=dict(ENROLLED))


def _camera(seconds: float) -> tuple[CameraKey, ...]:
    return (
        CameraKey(0.0, 1.0, 380, 285),
        CameraKey(seconds / 2, 1.1, 400, 275),
        CameraKey(seconds, 1.0, 370, 285),
    )


def recognize(http: httpx.Client, clip: bytes, fps: float) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one synchronous recognition, and its answer."""
    started = time.perf_counter()
    response = http.post(
        "/api/v1/videos/recognize",
        files={"video": ("clip.mp4", clip, "video/mp4")},
        data={"group_ids": GROUP, "fps": str(fps)},
        timeout=600,
    )
    seconds = time.perf_counter() - started
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return seconds, body


def watch(client: FaceflowClient, path: Path, fps: float) -> float:
    """Wall seconds of ``faceflow watch``'s path on the file (read, send, track, close)."""
    started = time.perf_counter()
    frames = sample_frames(Source.parse(str(path)), fps)
    Watcher(client, [GROUP], lambda event: None, fps=fps).run(batches(frames, 1000.0))
    return time.perf_counter() - started


def bare(path: Path, pipeline: LocalPipeline) -> tuple[float, int]:
    """Wall seconds to decode every frame and detect + align + embed every face in-process."""
    capture = cv2.VideoCapture(str(path))
    frames = 0
    started = time.perf_counter()
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            rgb = np.ascontiguousarray(frame[:, :, ::-1], dtype=np.uint8)
            for face in pipeline.detector.detect(rgb, upscale=False):
                pipeline.embed_face(rgb, face)
            frames += 1
    finally:
        capture.release()
    return time.perf_counter() - started, frames


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    if not (SHARED_DATA / "lfw-devtest").is_dir():
        sys.stderr.write(f"{SHARED_DATA}/lfw-devtest is needed for the clips\n")
        return 2
    sys.stdout.write(
        f"640x480 clips of {options.seconds:g} s at {FPS:g} fps, {options.runs} runs each; "
        f"{os.cpu_count()} CPU cores; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    pipeline = LocalPipeline.load()
    with tempfile.TemporaryDirectory(prefix="faceflow-video-bench-") as tmp:
        folder = Path(tmp)
        clips = {}
        scenes = (("1 face", one_face(options.seconds)), ("3 faces", three_faces(options.seconds)))
        for name, scene in scenes:
            path = folder / f"{name.replace(' ', '-')}.mp4"
            write_clip(scene, SHARED_DATA, path, FPS, "mp4v")
            clips[name] = path
        with running_stack(folder / "stack", services=["detection", "embedding"]) as stack:
            headers = {"x-api-key": stack.api_key}
            with (
                httpx.Client(base_url=stack.url, headers=headers) as http,
                FaceflowClient(stack.url, stack.api_key, timeout=600) as client,
            ):
                http.post("/api/v1/groups", json={"group_id": GROUP}).raise_for_status()
                for person, photos in ENROLLED.items():
                    for photo in photos:
                        http.post(
                            f"/api/v1/groups/{GROUP}/users/{person}/faces",
                            files={"image": (photo, photo_path(SHARED_DATA, photo).read_bytes())},
                        ).raise_for_status()
                for name, path in clips.items():
                    clip = path.read_bytes()
                    recognize(http, clip, FPS)  # warm-up
                    every, sampled, streamed, floor = [], [], [], []
                    for _ in range(options.runs):
                        seconds, body = recognize(http, clip, FPS)
                        every.append(body["video"]["frames_analysed"] / seconds)
                        seconds, five = recognize(http, clip, 5.0)
                        sampled.append(options.seconds / seconds)
                        streamed.append(options.seconds / watch(client, path, 5.0))
                        seconds, frames = bare(path, pipeline)
                        floor.append(frames / seconds)
                    users = sorted(str(e["user_id"]) for e in five["events"])
                    sys.stdout.write(
                        f"{name}: every frame (fps=15): {median(every):5.1f} frames/s sustained "
                        f"(runs: {', '.join(f'{v:.1f}' for v in every)}); "
                        f"bare in-process: {median(floor):5.1f} frames/s\n"
                        f"  fps=5 upload: {median(sampled):4.2f} s of video per s "
                        f"(= {median(sampled):.1f} cameras at 5 fps); "
                        f"watch path (1 s batches): {median(streamed):4.2f} s of video per s; "
                        f"{len(five['events'])} tracks: {users}\n"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
