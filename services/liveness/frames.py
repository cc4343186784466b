"""Turn a verification request into decoded RGB frames with capture times.

Still frames are decoded with the shared image decoder (limits, EXIF). A video (mp4 or webm) is
written to a temporary file and decoded with OpenCV's FFmpeg backend (``cv2.VideoCapture``),
keeping about ``sample_fps`` frames per second. Too many frames is a clear INVALID_ARGUMENT,
checked before any heavy work.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from services.liveness.errors import InvalidVideoError
from services.shared.errors import ImageTooLargeError, InvalidArgumentError, InvalidImageError
from services.shared.imaging import ImageLimits, decode_image

DEFAULT_VIDEO_FPS = 30.0
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # webm / matroska


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


def fit(image: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """Scale down (never up) so the longest side is at most max_side.

    Up to 100 frames are held at once; a camera frame larger than this gains nothing for
    detection (YuNet runs at 640x640) but costs memory.
    """
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def video_suffix(data: bytes) -> str:
    """File suffix for the container (OpenCV picks the demuxer from content, this helps)."""
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data[:4] == EBML_MAGIC:
        return ".webm"
    raise InvalidVideoError("the video is neither mp4 nor webm")


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


def decode_video(data: bytes, sample_fps: float, limits: FrameLimits) -> DecodedFrames:
    """Decode a short mp4/webm, keeping about sample_fps frames per second."""
    if len(data) > limits.max_video_bytes:
        raise InvalidArgumentError(
            f"the video is {len(data)} bytes; the limit is {limits.max_video_bytes} bytes"
        )
    suffix = video_suffix(data)
    handle, name = tempfile.mkstemp(suffix=suffix, prefix="faceflow-liveness-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return _read_video(name, sample_fps, limits)
    finally:
        os.unlink(name)


def _read_video(path: str, sample_fps: float, limits: FrameLimits) -> DecodedFrames:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise InvalidVideoError("the video cannot be decoded")
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or DEFAULT_VIDEO_FPS
        if not math.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = DEFAULT_VIDEO_FPS
        step = max(1, round(fps / sample_fps))
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if declared > 0 and math.ceil(declared / step) > limits.max_frames:
            _check_count(math.ceil(declared / step), limits, "frames after sampling the video")
        images: list[NDArray[np.uint8]] = []
        times: list[float] = []
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % step == 0:
                if len(images) >= limits.max_frames:
                    _check_count(len(images) + 1, limits, "frames after sampling the video")
                height, width = frame.shape[:2]
                if width * height > limits.image.max_pixels:
                    raise ImageTooLargeError(
                        f"video frames are {width}x{height}; the limit is "
                        f"{limits.image.max_pixels} pixels"
                    )
                images.append(fit(np.ascontiguousarray(frame[:, :, ::-1]), limits.max_side))
                times.append(index * 1000.0 / fps)
            index += 1
    finally:
        capture.release()
    if not images:
        raise InvalidVideoError("the video has no decodable frames")
    _check_count(len(images), limits, "frames after sampling the video")
    return DecodedFrames(images, times)
