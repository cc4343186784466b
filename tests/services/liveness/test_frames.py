"""Decoding a verification's input: frames, capture times, mp4/webm video, limits."""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

import cv2
import grpc
import numpy as np
import pytest

from services.liveness.frames import FrameLimits, decode_frames, decode_video, frame_times
from services.shared.errors import (
    ImageTooLargeError,
    InvalidArgumentError,
    InvalidImageError,
    StorageUnavailableError,
)
from services.shared.imaging import ImageLimits
from services.shared.video import InvalidVideoError, VideoTooLargeError
from tests.helpers import images
from tests.helpers.video_clips import browser_webm
from tests.services.shared.test_video import browser_times, counting_frames

LIMITS = FrameLimits(max_frames=100, min_frames=3, max_video_bytes=20 << 20, image=ImageLimits())


def write_video(path: Path, count: int, fourcc: str, fps: float = 30.0) -> bytes:
    """A real encoded video of the astronaut, count frames at fps."""
    frame = cv2.cvtColor(cv2.resize(images.astronaut(), (320, 240)), cv2.COLOR_RGB2BGR)
    code = cv2.VideoWriter_fourcc(*fourcc)  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), code, fps, (320, 240))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
    for _ in range(count):
        writer.write(frame)
    writer.release()
    return path.read_bytes()


@pytest.mark.parametrize(("fourcc", "suffix"), [("mp4v", ".mp4"), ("VP80", ".webm")])
def test_video_is_sampled_to_about_ten_fps(tmp_path: Path, fourcc: str, suffix: str) -> None:
    data = write_video(tmp_path / f"clip{suffix}", 60, fourcc, fps=30.0)  # 2 s
    decoded = decode_video(data, sample_fps=10.0, limits=LIMITS)
    assert len(decoded.images) == 20
    assert decoded.images[0].shape == (240, 320, 3)
    assert decoded.times_ms[:3] == pytest.approx([0.0, 100.0, 200.0])


def test_long_video_is_refused(tmp_path: Path) -> None:
    data = write_video(tmp_path / "long.mp4", 500, "mp4v", fps=10.0)  # 500 frames kept at 10 fps
    with pytest.raises(InvalidArgumentError, match="the limit is 100"):
        decode_video(data, sample_fps=10.0, limits=LIMITS)


def test_undecodable_video(tmp_path: Path) -> None:
    with pytest.raises(InvalidVideoError, match="neither mp4 nor webm"):
        decode_video(b"this is not a video at all", 10.0, LIMITS)
    # The right magic bytes, but garbage after them.
    fake_mp4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    with pytest.raises(InvalidVideoError):
        decode_video(fake_mp4, 10.0, LIMITS)


def test_frame_counts_and_bad_frames() -> None:
    jpeg = images.astronaut_jpeg()
    with pytest.raises(InvalidArgumentError, match="500 frames; the limit is 100"):
        decode_frames([jpeg] * 500, [], 200, LIMITS)
    with pytest.raises(InvalidArgumentError, match="at least 3"):
        decode_frames([jpeg] * 2, [], 200, LIMITS)
    with pytest.raises(InvalidImageError, match="frame 1:"):
        decode_frames([jpeg, b"not an image", jpeg], [], 200, LIMITS)


def test_capture_times() -> None:
    assert frame_times(3, [], 250) == [0.0, 250.0, 500.0]
    assert frame_times(3, [1000, 1400, 1900], 250) == [0.0, 400.0, 900.0]
    with pytest.raises(InvalidArgumentError, match="must not decrease"):
        frame_times(3, [1000, 900, 1900], 250)
    with pytest.raises(InvalidArgumentError, match="2 values for 3 frames"):
        frame_times(3, [1, 2], 250)
    assert np.all(np.diff(frame_times(5, [], 100)) == 100)


def test_large_frames_are_scaled_down_and_huge_ones_refused() -> None:
    big = images.encode(np.full((2000, 3000, 3), 90, np.uint8))
    decoded = decode_frames([big] * 3, [], 200, LIMITS)
    assert decoded.images[0].shape == (853, 1280, 3)
    strict = FrameLimits(100, 3, 20 << 20, ImageLimits(max_pixels=1_000_000))
    with pytest.raises(ImageTooLargeError, match="frame 0:"):
        decode_frames([big] * 3, [], 200, strict)


def test_a_browser_webm_is_sampled_to_about_ten_fps(tmp_path: Path) -> None:
    """A webm as browsers record it (no declared rate: OpenCV says 1000 fps) keeps about 10
    frames per second with their real times; before, 5 s gave 2 frames and was refused."""
    times = browser_times(5.0)
    data = browser_webm(tmp_path / "camera.webm", counting_frames(len(times)), times)
    decoded = decode_video(data, sample_fps=10.0, limits=LIMITS)
    assert len(decoded.images) == 50
    assert decoded.times_ms[0] == 0.0 and decoded.times_ms[-1] == pytest.approx(4900, abs=50)
    assert all(b > a for a, b in zip(decoded.times_ms, decoded.times_ms[1:], strict=False))


def test_decoding_stops_at_the_frame_cap(tmp_path: Path) -> None:
    """At most max_frames / sample_fps seconds at 240 fps are decoded (here 1 s: 240 frames),
    whatever the timestamps say: 300 frames 1 ms apart are refused at the 241st, not decoded
    in full to keep 3 of them."""
    times = list(range(300))
    frames = [np.full((48, 64, 3), 90, np.uint8)] * len(times)
    data = browser_webm(tmp_path / "dense.webm", frames, times)
    limits = FrameLimits(max_frames=10, min_frames=3, max_video_bytes=20 << 20, image=ImageLimits())
    with pytest.raises(InvalidArgumentError, match="more than 240 frames") as caught:
        decode_video(data, sample_fps=10.0, limits=limits)
    assert caught.value.code == "INVALID_ARGUMENT"


def test_decoding_stops_when_the_call_is_over(tmp_path: Path) -> None:
    """``ensure_active`` runs before each kept frame; once it raises, nothing more is decoded."""
    data = write_video(tmp_path / "clip.mp4", 60, "mp4v", fps=30.0)
    calls = []

    class GoneError(Exception):
        pass

    def ensure_active() -> None:
        calls.append(1)
        if len(calls) >= 3:
            raise GoneError

    with pytest.raises(GoneError):
        decode_video(data, 10.0, LIMITS, ensure_active=ensure_active)
    assert len(calls) == 3  # not 20: the loop stopped at the third frame


def test_a_video_over_the_byte_limit_is_video_too_large(tmp_path: Path) -> None:
    data = write_video(tmp_path / "clip.mp4", 10, "mp4v")
    small = FrameLimits(100, 3, max_video_bytes=len(data) - 1, image=ImageLimits())
    with pytest.raises(VideoTooLargeError, match=f"{len(data)} bytes; the limit is") as caught:
        decode_video(data, 10.0, small)
    assert caught.value.code == "VIDEO_TOO_LARGE"
    assert len(decode_video(data, 10.0, replace(small, max_video_bytes=len(data))).images) == 4


def test_no_room_for_the_video_is_unavailable_not_internal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The video goes through a temporary file: no space there is UNAVAILABLE "retry later"
    (the server's trouble), never INTERNAL, and no file is left behind."""
    data = write_video(tmp_path / "clip.mp4", 10, "mp4v")
    written: list[str] = []
    real_fdopen = os.fdopen

    class FullFile:
        def __init__(self, handle: int, mode: str) -> None:
            self.file = real_fdopen(handle, mode)
            self.path = os.readlink(f"/proc/self/fd/{handle}")  # Linux: the temporary file

        def __enter__(self) -> FullFile:
            return self

        def __exit__(self, *_: object) -> None:
            self.file.close()

        def write(self, _: bytes) -> int:
            written.append(self.path)
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", FullFile)  # video_file writes through os.fdopen
    with pytest.raises(StorageUnavailableError, match="retry later") as caught:
        decode_video(data, 10.0, LIMITS)
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    assert caught.value.status == grpc.StatusCode.UNAVAILABLE
    assert len(written) == 1 and not Path(written[0]).exists()
    monkeypatch.undo()
    assert len(decode_video(data, 10.0, LIMITS).images) == 4
