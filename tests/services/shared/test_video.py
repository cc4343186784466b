"""The shared video reader: container check, sampling, times, colour order, limits."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.shared.errors import ImageTooLargeError, InvalidArgumentError
from services.shared.video import (
    MAX_VIDEO_FPS,
    InvalidVideoError,
    VideoReader,
    VideoTooLongError,
    _Sampler,
    fit,
    grab_limit,
    video_file,
    video_suffix,
)
from tests.helpers.video_clips import browser_webm, fourcc_code

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


def test_a_limit_set_after_opening_stops_decoding(tmp_path: Path) -> None:
    """The gateway answers a video within the request when it declares a short length; the
    limit it then sets holds whatever the file really holds."""
    data = write(tmp_path / "long.mp4", 90, fps=30.0)
    with video_file(data) as path, VideoReader(path, max_duration_s=60.0, **LIMITS) as reader:
        reader.limit(1.0)
        assert reader.max_grabs == 240  # 1 s at the highest decoded rate (was 60 s of it)
        kept = []
        with pytest.raises(VideoTooLongError, match="more than the limit of 1 s"):
            for frame in reader.frames(10.0):
                kept.append(frame.time_ms)
        assert kept[-1] == pytest.approx(1000.0)


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


def counting_frames(count: int) -> list[np.ndarray]:
    """Frames whose red channel (BGR) counts up, so a decoded frame tells its index."""
    frames = []
    for index in range(count):
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, :, 2] = 40 + index % 200
        frames.append(frame)
    return frames


def browser_times(seconds: float, fps: float = 30.0, jitter_ms: float = 8.0) -> list[int]:
    """A camera's frame times as a browser stamps them: about ``fps``, irregular, whole ms."""
    rng = random.Random(7)
    count = round(seconds * fps)
    return [0] + [
        round(i * 1000 / fps + rng.uniform(-jitter_ms, jitter_ms)) for i in range(1, count)
    ]


def test_a_browser_webm_without_a_frame_rate_is_sampled_by_its_timestamps(tmp_path: Path) -> None:
    """MediaRecorder's webm declares no rate: OpenCV reports 1000 fps. Taken at its word that
    kept 1 frame in 100 labelled index ms (2 frames "spanning" 100 ms of a 5 s clip)."""
    times = browser_times(5.0)
    data = browser_webm(tmp_path / "camera.webm", counting_frames(len(times)), times)
    with video_file(data) as path:
        capture = cv2.VideoCapture(str(path))
        assert capture.get(cv2.CAP_PROP_FPS) == 1000.0  # what makes this a browser's webm
        capture.release()
        with VideoReader(path, **LIMITS) as reader:
            frames = list(reader.frames(10.0))
            info = reader.info
    assert len(frames) == 50  # the first frame at or after each 100 ms step of 5 s
    assert [f.time_ms for f in frames] == [times[f.index] for f in frames]
    # one frame per 100 ms step (a frame 1 ms early counts as on its step)
    assert [int((f.time_ms + 1) // 100) for f in frames] == list(range(50))
    gaps = np.diff([f.time_ms for f in frames])
    assert gaps.min() > 50 and gaps.max() < 150
    for frame in frames[::10]:  # the pixels are the frame the time belongs to
        assert float(frame.image[:, :, 0].mean()) == pytest.approx(40 + frame.index, abs=6)
    # the rate is unknown, and so the length the container derives from it
    assert not info.fps_known and info.frame_count == 0 and info.sampled_count(10.0) is None


def test_frame_times_are_the_containers(tmp_path: Path) -> None:
    """A declared (plausible) rate picks the step, but each time is the frame's own: here 1 s
    at 30 fps, then 1 s at 15 fps (a phone lowering its rate in the dark)."""
    times = [round(i * 1000 / 30) for i in range(30)] + [
        1000 + round(i * 1000 / 15) for i in range(15)
    ]
    data = browser_webm(tmp_path / "vfr.webm", counting_frames(len(times)), times)
    with video_file(data) as path, VideoReader(path, **LIMITS) as reader:
        assert reader.info.fps < MAX_VIDEO_FPS
        frames = list(reader.frames(10.0))
    assert [f.time_ms for f in frames] == [times[f.index] for f in frames]
    assert (frames[-1].index, frames[-1].time_ms) == (42, 1800.0)  # not 42 / 30 fps = 1400 ms


def test_frames_without_usable_times_are_spaced_by_the_rate() -> None:
    """The times a reader derives from (index, container time) pairs: the container's time
    from the first frame while it increases, else one frame period after the previous."""
    sampler = _Sampler(step=None, interval_ms=100.0, frame_ms=1000 / 30)
    positions = [500.0, 533.0, None, 533.0, 600.0, 650.0, 700.0, 1100.0]
    times = [sampler.time_ms(p) for p in positions]
    assert times == pytest.approx([0.0, 33.0, 66.333, 99.667, 100.0, 150.0, 200.0, 600.0], abs=1e-3)
    kept = [i for i, t in enumerate(times) if sampler.keep(i, t)]
    assert kept == [0, 3, 6, 7]  # the first frame at or after 0, 100 (less 1 ms), 200, 600 ms


def test_grabs_stop_at_the_limit(tmp_path: Path) -> None:
    """However few frames are kept, at most ``max_grabs`` are decoded: one more is a clear
    INVALID_ARGUMENT (not a silent cut: the verification would judge part of the video)."""
    data = write(tmp_path / "clip.mp4", 90, fps=30.0)
    with video_file(data) as path:
        with VideoReader(path, max_grabs=90, **LIMITS) as reader:
            assert len(list(reader.frames(1.0))) == 3
        with VideoReader(path, max_grabs=40, **LIMITS) as reader:
            kept = []
            with pytest.raises(InvalidArgumentError, match="more than 40 frames") as caught:
                for frame in reader.frames(1.0):
                    kept.append(frame.index)
            assert caught.value.code == "INVALID_ARGUMENT"
            assert kept == [0, 30]
        with VideoReader(path, max_duration_s=60.0, **LIMITS) as reader:
            assert reader.max_grabs == grab_limit(60.0) == 60 * MAX_VIDEO_FPS
