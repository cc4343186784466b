"""The shared video reader: container check, sampling, times, colour order, limits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.shared.errors import ImageTooLargeError, InvalidArgumentError
from services.shared.video import (
    InvalidVideoError,
    VideoReader,
    VideoTooLongError,
    fit,
    video_file,
    video_suffix,
)
from tests.helpers.video_clips import fourcc_code

LIMITS = {"max_pixels": 10_000_000, "max_side": 1280}


def write(path: Path, count: int, fourcc: str = "mp4v", fps: float = 30.0) -> bytes:
    """A real encoded video: frame i is a flat colour whose red channel counts i up (BGR in,
    so RGB frames must show it in channel 0)."""
    writer = cv2.VideoWriter(str(path), fourcc_code(fourcc), fps, (160, 120))
    assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
    for index in range(count):
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :, 2] = min(255, 40 + 4 * index)  # red, in BGR order
        writer.write(frame)
    writer.release()
    return path.read_bytes()


@pytest.mark.parametrize(("fourcc", "suffix"), [("mp4v", ".mp4"), ("VP80", ".webm")])
def test_frames_are_sampled_with_times_in_rgb(tmp_path: Path, fourcc: str, suffix: str) -> None:
    data = write(tmp_path / f"clip{suffix}", 45, fourcc, fps=30.0)  # 1.5 s
    assert video_suffix(data) == suffix
    with video_file(data) as path, VideoReader(path, **LIMITS) as reader:
        assert (reader.info.width, reader.info.height, reader.info.fps) == (160, 120, 30.0)
        assert reader.info.frame_count == 45
        assert reader.info.duration_s == pytest.approx(1.5)
        assert reader.info.sampled_count(5.0) == 8
        frames = list(reader.frames(5.0))
    assert [f.index for f in frames] == list(range(0, 45, 6))
    assert [f.time_ms for f in frames] == pytest.approx([i * 200.0 for i in range(8)])
    image = frames[1].image
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8
    red, green, blue = (float(image[:, :, c].mean()) for c in range(3))
    assert red == pytest.approx(40 + 4 * 6, abs=6) and green < 10 and blue < 10
    with video_file(data) as path, VideoReader(path, **LIMITS) as reader:
        bgr = next(iter(reader.frames(5.0, bgr=True))).image
    assert float(bgr[:, :, 2].mean()) > 30 and float(bgr[:, :, 0].mean()) < 10
    assert not path.exists()  # the temporary file is gone


def test_every_frame_when_asked_for_more_than_the_video_has(tmp_path: Path) -> None:
    data = write(tmp_path / "slow.mp4", 10, fps=5.0)
    with video_file(data) as path, VideoReader(path, **LIMITS) as reader:
        assert [f.time_ms for f in reader.frames(25.0)] == pytest.approx(
            [i * 200.0 for i in range(10)]
        )


def test_too_long_by_declared_length_before_decoding(tmp_path: Path) -> None:
    data = write(tmp_path / "long.mp4", 90, fps=30.0)  # 3 s
    with video_file(data) as path:
        with pytest.raises(VideoTooLongError, match=r"lasts 3\.0 s; the limit is 2 s"):
            VideoReader(path, max_duration_s=2.0, **LIMITS)
        with VideoReader(path, max_duration_s=3.0, **LIMITS) as reader:
            assert len(list(reader.frames(10.0))) == 30


def test_too_long_found_while_decoding(tmp_path: Path) -> None:
    """A container that does not declare its length is stopped at the limit."""
    data = write(tmp_path / "long.mp4", 90, fps=30.0)
    with video_file(data) as path, VideoReader(path, **LIMITS) as reader:
        # as if opened without a declared length (a live-recorded webm may have none)
        reader.info = replace(reader.info, frame_count=0)
        reader.max_duration_s = 1.0
        kept = []
        with pytest.raises(VideoTooLongError, match="more than the limit of 1 s"):
            for frame in reader.frames(10.0):
                kept.append(frame.time_ms)
        assert kept[-1] == pytest.approx(1000.0)


def test_frames_over_the_pixel_limit(tmp_path: Path) -> None:
    data = write(tmp_path / "clip.mp4", 5)
    with (
        video_file(data) as path,
        pytest.raises(ImageTooLargeError, match="160x120; the limit is 10000 pixels"),
    ):
        VideoReader(path, max_pixels=10_000, max_side=1280)


def test_large_frames_are_scaled_down(tmp_path: Path) -> None:
    data = write(tmp_path / "clip.mp4", 5)
    with video_file(data) as path, VideoReader(path, max_pixels=10**7, max_side=80) as reader:
        assert next(iter(reader.frames(30.0))).image.shape == (60, 80, 3)
    image = np.zeros((100, 50, 3), np.uint8)
    assert fit(image, 200) is image
    assert fit(image, 40).shape == (40, 20, 3)


def test_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(InvalidVideoError, match="neither mp4 nor webm"):
        video_suffix(b"\xff\xd8\xff\xe0 a JPEG")
    with pytest.raises(InvalidVideoError, match="neither mp4 nor webm"), video_file(b""):
        pass
    garbage = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
    with video_file(garbage) as path, pytest.raises(InvalidVideoError, match="cannot be decoded"):
        VideoReader(path, **LIMITS)


@pytest.mark.parametrize(("fourcc", "suffix"), [("mp4v", ".mp4"), ("VP80", ".webm")])
def test_a_video_without_frames(tmp_path: Path, fourcc: str, suffix: str) -> None:
    data = write(tmp_path / f"empty{suffix}", 0, fourcc)
    assert video_suffix(data) == suffix
    with video_file(data) as path, pytest.raises(InvalidVideoError):
        VideoReader(path, **LIMITS)


def test_sampling_rate_must_be_positive(tmp_path: Path) -> None:
    data = write(tmp_path / "clip.mp4", 5)
    with (
        video_file(data) as path,
        VideoReader(path, **LIMITS) as reader,
        pytest.raises(InvalidArgumentError, match="positive"),
    ):
        next(iter(reader.frames(0.0)))
