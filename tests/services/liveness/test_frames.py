"""Decoding a verification's input: frames, capture times, mp4/webm video, limits."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.liveness.frames import FrameLimits, decode_frames, decode_video, frame_times
from services.shared.errors import ImageTooLargeError, InvalidArgumentError, InvalidImageError
from services.shared.imaging import ImageLimits
from services.shared.video import InvalidVideoError
from tests.helpers import images

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
