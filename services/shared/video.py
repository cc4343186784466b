"""Decode an uploaded video (mp4 or webm) into sampled RGB frames with their capture times.

The one home of video decoding: the liveness service (a few seconds of an action challenge)
and the gateway's video recognition (minutes of camera footage) both read videos here. The
bytes are written to a temporary file (``video_file``) and decoded with OpenCV's FFmpeg
backend (``VideoReader``), keeping about ``sample_fps`` frames per second: the frames in
between are only grabbed (demuxed and decoded, never converted or copied). Frames are yielded
one at a time, so a long video is never held in memory; the caller bounds how many it keeps.

A frame's time is the container's timestamp for it (``CAP_PROP_POS_MSEC`` after the grab),
from the first frame; only where the container gives none (or one that does not increase) is
it the previous frame's time plus one frame at the declared rate. A declared rate that is
absent or implausible (``MAX_VIDEO_FPS`` or more: a browser's MediaRecorder webm declares
none, and OpenCV then reports its 1 ms time base as 1000 fps) is unknown: the frames are then
kept by their times (the first frame at or after each 1/``sample_fps`` s step), and the
container's frame count, derived from that rate, is not trusted.

Refusals are typed: INVALID_VIDEO (neither mp4 nor webm, undecodable, no frames),
VIDEO_TOO_LONG (past ``max_duration_s``: from the container's declared length before any
frame is decoded, else as soon as a frame's time passes it), IMAGE_TOO_LARGE (frames over
the pixel limit: the declared size before any frame is decoded, else each kept frame),
INVALID_ARGUMENT (more than ``max_grabs`` frames, which bounds the decoding work of one video
whatever its timestamps say). VIDEO_TOO_LARGE is the callers' (over their byte limit).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ImageTooLargeError, InvalidArgumentError, disk_writes

DEFAULT_VIDEO_FPS = 30.0
"""Assumed, for the frame times only, when the container declares no plausible frame rate and
gives a frame no timestamp."""
MAX_VIDEO_FPS = 240.0
"""A declared frame rate at or above this is taken as none (browsers' webm: OpenCV reports
1000). Also the highest rate a video is decoded at: a caller allows ``max_duration_s`` x
this many grabbed frames (``grab_limit``), so one upload costs a bounded number of decodes."""
TIME_SLACK_MS = 1.0
"""Container times are whole milliseconds in webm: a frame this close to a sampling step
counts as on it."""
EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # webm / matroska


class InvalidVideoError(InvalidArgumentError):
    """The bytes are not a decodable mp4/webm video, or it holds no frame."""

    code = "INVALID_VIDEO"


class VideoTooLongError(InvalidArgumentError):
    """The video lasts longer than the caller accepts."""

    code = "VIDEO_TOO_LONG"


class VideoTooLargeError(InvalidArgumentError):
    """The video has more bytes than the caller accepts (the gateway answers 413)."""

    code = "VIDEO_TOO_LARGE"


def grab_limit(max_duration_s: float) -> int:
    """The most frames decoded of a video that may last ``max_duration_s``."""
    return max(1, math.ceil(max_duration_s * MAX_VIDEO_FPS))


@dataclass(frozen=True)
class VideoInfo:
    """What the container declares (the frame count may be 0: unknown, or an estimate).

    ``fps_known``: False when the container declares no plausible rate; ``fps`` is then
    ``DEFAULT_VIDEO_FPS`` (an assumption), the frame count 0 and the frames are sampled by time.
    """

    width: int
    height: int
    fps: float
    frame_count: int
    fps_known: bool = True

    @property
    def duration_s(self) -> float | None:
        """Declared length in seconds; None when the container does not say."""
        return self.frame_count / self.fps if self.frame_count > 0 else None

    def sample_step(self, sample_fps: float) -> int:
        """Keep one frame in this many to get about ``sample_fps`` frames per second."""
        return max(1, round(self.fps / sample_fps))

    def sampled_count(self, sample_fps: float) -> int | None:
        """Frames kept at ``sample_fps`` by the declared length (None when unknown)."""
        if self.frame_count <= 0:
            return None
        return math.ceil(self.frame_count / self.sample_step(sample_fps))


@dataclass(frozen=True)
class VideoFrame:
    """One kept frame: its pixels (RGB, or OpenCV's BGR when asked for), its index in the
    video, its time from the first frame."""

    index: int
    time_ms: float
    image: NDArray[np.uint8]


def video_suffix(data: bytes) -> str:
    """File suffix for the container (OpenCV picks the demuxer from content, this helps)."""
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data[:4] == EBML_MAGIC:
        return ".webm"
    raise InvalidVideoError("the video is neither mp4 nor webm")


def fit(image: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """Scale down (never up) so the longest side is at most ``max_side``.

    A camera frame larger than this gains nothing for detection (YuNet runs at 640x640) but
    costs memory and time.
    """
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


@contextmanager
def video_file(data: bytes, prefix: str = "faceflow-video-") -> Iterator[Path]:
    """The bytes in a temporary file named for their container (deleted afterwards);
    INVALID_VIDEO when they are neither mp4 nor webm, SERVICE_UNAVAILABLE when the file
    cannot be written (no space left)."""
    suffix = video_suffix(data)
    with disk_writes("the video"):
        handle, name = tempfile.mkstemp(suffix=suffix, prefix=prefix)
    try:
        with disk_writes("the video"), os.fdopen(handle, "wb") as file:
            file.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


class VideoReader:
    """An opened video file: its declared ``info`` and its sampled ``frames``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_pixels: int,
        max_side: int,
        max_duration_s: float | None = None,
        max_grabs: int | None = None,
    ) -> None:
        """Open ``path``; INVALID_VIDEO when it cannot be decoded, IMAGE_TOO_LARGE when its
        frames are over ``max_pixels``, VIDEO_TOO_LONG when it declares more than
        ``max_duration_s``. Kept frames are scaled down to ``max_side``. At most ``max_grabs``
        frames are decoded (default: ``grab_limit(max_duration_s)``, none without it)."""
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.max_duration_s = max_duration_s
        if max_grabs is None and max_duration_s is not None:
            max_grabs = grab_limit(max_duration_s)
        self.max_grabs = max_grabs
        self._capture = cv2.VideoCapture(str(path))
        try:
            if not self._capture.isOpened():
                raise InvalidVideoError(
                    "the video cannot be decoded (no video stream, or no frame)"
                )
            self.info = self._read_info()
            self._check_pixels(self.info.width, self.info.height)
            declared = self.info.duration_s
            if max_duration_s is not None and declared is not None and declared > max_duration_s:
                raise VideoTooLongError(
                    f"the video lasts {declared:.1f} s; the limit is {max_duration_s:g} s"
                )
        except BaseException:
            self._capture.release()
            raise

    def limit(self, max_duration_s: float) -> None:
        """Decode no further than ``max_duration_s`` (and at most its frames): VIDEO_TOO_LONG
        past it. For a caller that chose this limit from the declared length, which a file
        may state falsely."""
        self.max_duration_s = max_duration_s
        self.max_grabs = grab_limit(max_duration_s)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder."""
        self._capture.release()

    def _read_info(self) -> VideoInfo:
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
        known = math.isfinite(fps) and 0 < fps < MAX_VIDEO_FPS
        return VideoInfo(
            width=int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            height=int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
            fps=fps if known else DEFAULT_VIDEO_FPS,
            # OpenCV derives a missing count from the rate: without a rate it means nothing
            frame_count=int(count) if known and math.isfinite(count) and count > 0 else 0,
            fps_known=known,
        )

    def _position_ms(self) -> float | None:
        """The container's time of the frame just grabbed; None when it gives none."""
        position = float(self._capture.get(cv2.CAP_PROP_POS_MSEC))
        return position if math.isfinite(position) and position >= 0 else None

    def _check_pixels(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise ImageTooLargeError(
                f"video frames are {width}x{height}; the limit is {self.max_pixels} pixels"
            )

    def frames(self, sample_fps: float, *, bgr: bool = False) -> Iterator[VideoFrame]:
        """About ``sample_fps`` frames per second (every frame when the video has fewer), in
        order, with the container's times; INVALID_VIDEO when not one frame decodes,
        VIDEO_TOO_LONG as soon as a frame is past ``max_duration_s``, INVALID_ARGUMENT when
        the video has more than ``max_grabs`` frames. ``bgr``: keep OpenCV's channel order
        (for a caller that re-encodes the frames)."""
        if not math.isfinite(sample_fps) or sample_fps <= 0:
            raise InvalidArgumentError("the sampling rate must be a positive number")
        step = self.info.sample_step(sample_fps) if self.info.fps_known else None
        return self._frames(_Sampler(step, 1000.0 / sample_fps, 1000.0 / self.info.fps), bgr)

    def _grab(self, index: int) -> bool:
        """The next frame, if any; INVALID_ARGUMENT past ``max_grabs`` frames."""
        if self.max_grabs is None or index < self.max_grabs:
            return bool(self._capture.grab())
        if not self._capture.grab():
            return False
        seconds = self.max_grabs / MAX_VIDEO_FPS
        raise InvalidArgumentError(
            f"the video has more than {self.max_grabs} frames; at most {self.max_grabs} are "
            f"decoded ({seconds:.3g} s at {MAX_VIDEO_FPS:g} frames per second)"
        )

    def _frames(self, sampler: _Sampler, bgr: bool) -> Iterator[VideoFrame]:
        index = 0
        kept = 0
        while self._grab(index):
            time_ms = sampler.time_ms(self._position_ms())
            if self.max_duration_s is not None and time_ms > self.max_duration_s * 1000.0:
                raise VideoTooLongError(
                    f"the video lasts more than the limit of {self.max_duration_s:g} s"
                )
            if sampler.keep(index, time_ms):
                ok, frame = self._capture.retrieve()
                if ok and frame is not None:
                    height, width = frame.shape[:2]
                    self._check_pixels(width, height)
                    pixels = frame if bgr else frame[:, :, ::-1]
                    image = np.ascontiguousarray(pixels, dtype=np.uint8)
                    kept += 1
                    yield VideoFrame(index, time_ms, fit(image, self.max_side))
            index += 1
        if not kept:
            raise InvalidVideoError("the video has no decodable frames")


class _Sampler:
    """Frame times and which frames to keep.

    Times: the container's time of each frame from the first one, while it increases; else
    the previous time plus ``frame_ms`` (the declared or assumed frame spacing). Keeping: every
    ``step``-th frame when the rate is known, else the first frame at or after each multiple
    of ``interval_ms`` (so irregular browser timestamps still give about the asked rate).
    """

    def __init__(self, step: int | None, interval_ms: float, frame_ms: float) -> None:
        self.step = step
        self.interval_ms = interval_ms
        self.frame_ms = frame_ms
        self.origin: float | None = None
        self.previous: float | None = None
        self.due = 0.0

    def time_ms(self, position_ms: float | None) -> float:
        """The time of the next frame, given its container time (None: none)."""
        if self.previous is None:
            self.origin = position_ms or 0.0
            time_ms = 0.0
        else:
            time_ms = self.previous + self.frame_ms
            if position_ms is not None:
                stamped = round(position_ms - (self.origin or 0.0), 3)
                if stamped > self.previous:
                    time_ms = stamped
        self.previous = time_ms
        return time_ms

    def keep(self, index: int, time_ms: float) -> bool:
        """Whether the frame ``index`` at ``time_ms`` is one of the sampled frames."""
        if self.step is not None:
            return index % self.step == 0
        if time_ms < self.due - TIME_SLACK_MS:
            return False
        self.due = (math.floor((time_ms + TIME_SLACK_MS) / self.interval_ms) + 1) * self.interval_ms
        return True
