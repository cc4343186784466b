"""Turn a verification request into decoded RGB frames with capture times.

Still frames are decoded with the shared image decoder (limits, EXIF). A video (mp4 or webm)
is decoded by the shared video reader (``services/shared/video.py``), keeping about
``sample_fps`` frames per second. Too many frames is a clear INVALID_ARGUMENT, checked before
any heavy work; a video over ``max_video_bytes`` is VIDEO_TOO_LARGE. A video is decoded for at
most ``max_frames / sample_fps`` seconds at up to ``MAX_VIDEO_FPS`` frames per second (more
frames: INVALID_ARGUMENT), and the caller's ``ensure_active`` runs before each kept frame so
that a cancelled or timed-out call stops decoding.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ImageTooLargeError, InvalidArgumentError, InvalidImageError
from services.shared.imaging import ImageLimits, decode_image
from services.shared.video import VideoReader, VideoTooLargeError, fit, grab_limit, video_file


@dataclass(frozen=True)
class FrameLimits:
    """Bounds on one verification's input."""

    max_frames: int
    min_frames: int
    max_video_bytes: int
    image: ImageLimits
    max_side: int = 1280  # frames are scaled down to this longest side (bounds memory)


@dataclass
class DecodedFrames:
    """Frames (RGB) and their capture times in milliseconds from the first frame."""

    images: list[NDArray[np.uint8]]
    times_ms: list[float]


def _check_count(count: int, limits: FrameLimits, what: str) -> None:
    if count > limits.max_frames:
        raise InvalidArgumentError(
            f"{count} {what}; the limit is {limits.max_frames} per verification "
            "(send a few seconds at a few frames per second)"
        )
    if count < limits.min_frames:
        raise InvalidArgumentError(f"{count} {what}; at least {limits.min_frames} are needed")


def frame_times(count: int, times_ms: list[int], interval_ms: int) -> list[float]:
    """Capture times relative to the first frame; validated when the client gave them."""
    if not times_ms:
        return [float(i * interval_ms) for i in range(count)]
    if len(times_ms) != count:
        raise InvalidArgumentError(f"frame_times_ms has {len(times_ms)} values for {count} frames")
    if any(b < a for a, b in itertools.pairwise(times_ms)):
        raise InvalidArgumentError("frame_times_ms must not decrease")
    return [float(t - times_ms[0]) for t in times_ms]


def decode_frames(
    frames: list[bytes], times_ms: list[int], interval_ms: int, limits: FrameLimits
) -> DecodedFrames:
    """Decode still frames; an unreadable one names its index."""
    _check_count(len(frames), limits, "frames")
    times = frame_times(len(frames), times_ms, interval_ms)
    images = []
    for index, data in enumerate(frames):
        try:
            images.append(fit(decode_image(data, limits.image), limits.max_side))
        except (InvalidImageError, ImageTooLargeError) as error:
            raise type(error)(f"frame {index}: {error.message}") from error
    return DecodedFrames(images, times)


def _active() -> None:
    """The default ``ensure_active``: nothing stops the decoding."""


def decode_video(
    data: bytes,
    sample_fps: float,
    limits: FrameLimits,
    ensure_active: Callable[[], None] = _active,
) -> DecodedFrames:
    """Decode a short mp4/webm, keeping about sample_fps frames per second.

    ``ensure_active`` raises when the caller is gone (it runs before each kept frame)."""
    if len(data) > limits.max_video_bytes:
        raise VideoTooLargeError(
            f"the video is {len(data)} bytes; the limit is {limits.max_video_bytes} bytes"
        )
    images: list[NDArray[np.uint8]] = []
    times: list[float] = []
    with (
        video_file(data, prefix="faceflow-liveness-") as path,
        VideoReader(
            path,
            max_pixels=limits.image.max_pixels,
            max_side=limits.max_side,
            max_grabs=grab_limit(limits.max_frames / sample_fps),
        ) as reader,
    ):
        declared = reader.info.sampled_count(sample_fps)
        if declared is not None and declared > limits.max_frames:
            _check_count(declared, limits, "frames after sampling the video")
        for frame in reader.frames(sample_fps):
            ensure_active()
            if len(images) >= limits.max_frames:
                _check_count(len(images) + 1, limits, "frames after sampling the video")
            images.append(frame.image)
            times.append(frame.time_ms)
    _check_count(len(images), limits, "frames after sampling the video")
    return DecodedFrames(images, times)
