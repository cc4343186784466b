"""``faceflow watch SOURCE --group G``: who walks past a camera, one JSON line per person seen.

SOURCE is a video file, a webcam index (``0``) or a stream URL (``rtsp://...``, ``http://...``),
read on this machine with OpenCV (FFmpeg). OpenCV is an optional extra, so the SDK itself keeps
only the HTTP client: ``pip install "./faceflow_sdk[watch]"``.

How it talks to the server: a stream (``POST /videos/streams``) and then batches of frames.
Frames are taken at ``--fps`` (by their time in the video; by the clock for a live source),
encoded as JPEG and sent every ``--batch`` seconds of video with their times
(``POST /videos/streams/{id}/frames``); the server detects, tracks and searches, keeps the
open tracks between batches, and answers the tracks that ended. At the end (or Ctrl-C) the
stream is closed and the last tracks come back. A track that spans several batches is one
event: its state stays on the server.

Why frame batches, not video segments: only the sampled frames travel (5 of a camera's 25-30
per second), each with its exact capture time; JPEG is encoded by every OpenCV build, while
writing a video segment needs an encoder the build may lack (no H.264 in the PyPI wheels) and
a finished file before anything can be sent; and the server decodes a JPEG straight into the
detector instead of demuxing a segment again. A batch of 1 s is ~5 JPEGs (~200 KB at 640x480),
so results lag the camera by about a batch plus the server's work.

Each event is printed to stdout as it arrives (and appended to ``--output`` as JSON lines):
``{"track_id", "user_id" (null: nobody of the groups), "group_id", "score", "first_seen",
"last_seen" (seconds from the start of the source), "best_frame": {"time", "box", ...}}``;
for a webcam or a stream also ``first_seen_at`` / ``last_seen_at`` (UTC wall-clock time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from faceflow_sdk.argtypes import whole_number
from faceflow_sdk.client import FaceflowClient
from faceflow_sdk.errors import FaceflowError

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
INSTALL_HINT = 'faceflow watch reads video with OpenCV: pip install "faceflow-sdk[watch]"'
MAX_BATCH_FRAMES = 50
"""The server's limit of frames per request."""


def _cv2() -> Any:
    """OpenCV, or a clear error naming the extra that installs it."""
    try:
        import cv2
    except ImportError as error:
        raise FaceflowError(INSTALL_HINT, code="MISSING_DEPENDENCY") from error
    return cv2


@dataclass(frozen=True)
class Source:
    """What to open: a file path, a webcam index or a stream URL."""

    target: str | int
    live: bool

    @classmethod
    def parse(cls, text: str) -> Source:
        """``0`` -> webcam 0; ``rtsp://...`` -> a stream; else a file, which must exist."""
        if text.isdigit():
            return cls(int(text), live=True)
        if text.lower().startswith(STREAM_SCHEMES):
            return cls(text, live=True)
        if not Path(text).is_file():
            raise ValueError(f"{text}: no such file (give a video file, a webcam index or a URL)")
        return cls(text, live=False)


@dataclass(frozen=True)
class SampledFrame:
    """One frame to send: JPEG bytes and its time in milliseconds from the source's start."""

    time_ms: int
    jpeg: bytes


def sample_frames(
    source: Source,
    fps: float,
    *,
    max_side: int = 1280,
    jpeg_quality: int = 90,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> Iterator[SampledFrame]:
    """About ``fps`` frames per second of the source, as JPEG, in order.

    A file's frames are timed by the video's own clock (every frame is read, however fast);
    a live source's by this machine's monotonic clock since it opened.
    """
    cv2 = _cv2()
    capture = cv2.VideoCapture(source.target)
    if not capture.isOpened():
        raise ValueError(f"cannot open {source.target!r} as a video source")
    interval = 1000.0 / fps
    due = 0.0
    started = time.monotonic()
    try:
        while stop is None or not stop.is_set():
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            if source.live:
                now_ms = (time.monotonic() - started) * 1000.0
            else:
                now_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC))
            if max_seconds is not None and now_ms > max_seconds * 1000.0:
                break
            if now_ms + 0.5 < due:
                continue
            while due <= now_ms + 0.5:
                due += interval
            height, width = frame.shape[:2]
            if max(height, width) > max_side:
                scale = max_side / max(height, width)
                size = (max(1, round(width * scale)), max(1, round(height * scale)))
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            if ok:
                yield SampledFrame(round(now_ms), encoded.tobytes())
    finally:
        capture.release()


def batches(
    frames: Iterator[SampledFrame], batch_ms: float, max_frames: int = MAX_BATCH_FRAMES
) -> Iterator[list[SampledFrame]]:
    """Consecutive frames grouped by ``batch_ms`` of source time (at most ``max_frames``)."""
    batch: list[SampledFrame] = []
    for frame in frames:
        if batch and (frame.time_ms - batch[0].time_ms >= batch_ms or len(batch) >= max_frames):
            yield batch
            batch = []
        batch.append(frame)
    if batch:
        yield batch


@dataclass
class WatchSummary:
    """What a watch did."""

    frames_sent: int = 0
    batches_sent: int = 0
    batches_dropped: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


class Watcher:
    """Sends a source's frames to one server stream and hands each finished track to ``emit``."""

    def __init__(
        self,
        client: FaceflowClient,
        group_ids: Sequence[str],
        emit: Callable[[dict[str, Any]], None],
        *,
        fps: float | None = None,
        fpir: float | None = None,
        threshold: float | None = None,
        max_faces: int | None = None,
        min_face_size: int | None = None,
        started_at: datetime | None = None,
    ) -> None:
        """``fps``: the rate the frames are taken at (the server keeps a track through a few
        missed frames at that rate). ``started_at``: the wall-clock time of the source's time 0
        (live sources), added to each event as ``first_seen_at`` / ``last_seen_at``."""
        self.client = client
        self.group_ids = list(group_ids)
        self.emit = emit
        self.options: dict[str, Any] = {
            "fps": fps,
            "fpir": fpir,
            "threshold": threshold,
            "max_faces": max_faces,
            "min_face_size": min_face_size,
        }
        self.started_at = started_at
        self.summary = WatchSummary()

    def _events(self, answer: dict[str, Any]) -> None:
        for event in answer.get("events", []):
            if self.started_at is not None:
                for key in ("first_seen", "last_seen"):
                    at = self.started_at + timedelta(seconds=float(event[key]))
                    event[f"{key}_at"] = at.isoformat(timespec="milliseconds")
            self.summary.events.append(event)
            self.emit(event)

    def run(self, frame_batches: Iterator[list[SampledFrame]]) -> WatchSummary:
        """Open a stream, send every batch, close it (also after an error or Ctrl-C)."""
        stream = self.client.create_video_stream(self.group_ids, **self.options)
        stream_id = stream["stream_id"]
        closed = False
        try:
            for batch in frame_batches:
                answer = self.client.send_video_frames(
                    stream_id, [f.jpeg for f in batch], [f.time_ms for f in batch]
                )
                self.summary.frames_sent += len(batch)
                self.summary.batches_sent += 1
                self._events(dict(answer))
            closed = True
            self._events(dict(self.client.close_video_stream(stream_id)))
        finally:
            if not closed:
                with contextlib.suppress(FaceflowError):  # still report the open tracks
                    self._events(dict(self.client.close_video_stream(stream_id)))
        return self.summary


def read_ahead(
    frame_batches: Iterator[list[SampledFrame]],
    live: bool,
    summary: WatchSummary,
    stop: threading.Event,
    depth: int = 4,
) -> Iterator[list[SampledFrame]]:
    """Read the source on a thread of its own while batches are sent.

    A camera does not wait: when the server falls behind by ``depth`` batches the oldest
    waiting batch is dropped (counted in ``summary.batches_dropped``; a track may then be
    split in two). A file waits for the server instead.
    """
    waiting: queue.Queue[list[SampledFrame] | BaseException | None] = queue.Queue(
        maxsize=0 if live else depth
    )

    def reader() -> None:
        try:
            for batch in frame_batches:
                if stop.is_set():
                    break
                if live and waiting.qsize() >= depth:
                    try:
                        waiting.get_nowait()
                        summary.batches_dropped += 1
                    except queue.Empty:  # the sender took it meanwhile
                        pass
                waiting.put(batch)
            waiting.put(None)
        except BaseException as error:  # handed to the sending thread
            waiting.put(error)

    thread = threading.Thread(target=reader, name="faceflow-watch-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """The ``watch`` sub-command of ``faceflow``."""
    watch = sub.add_parser(
        "watch",
        parents=list(parents),
        help="recognize the people passing in a video file, a webcam or a stream",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument("source", help="a video file, a webcam index (0) or a URL (rtsp://...)")
    watch.add_argument(
        "--group", required=True, action="append", help="group id(s) to search (repeat or comma)"
    )
    watch.add_argument(
        "--fps", type=float, default=5.0, help="frames analysed per second, 0.2-30 (5)"
    )
    watch.add_argument(
        "--batch", type=float, default=1.0, help="seconds of video per request (1.0)"
    )
    watch.add_argument("--output", type=Path, help="also append each event to this JSON-lines file")
    watch.add_argument("--fpir", type=float, help="share of strangers that may match someone")
    watch.add_argument("--threshold", type=float, help="minimum score 0-100 (overrides --fpir)")
    watch.add_argument("--max-faces", type=int, help="faces per frame (default 10)")
    watch.add_argument("--min-face-size", type=int, help="ignore smaller faces (pixels)")
    watch.add_argument("--max-seconds", type=float, help="stop after this much of the source")
    watch.add_argument(
        "--max-side",
        type=whole_number(MIN_SIDE, 8192),
        default=1280,
        help=f"scale frames down to this ({MIN_SIDE}-8192)",
    )
    watch.add_argument(
        "--jpeg-quality", type=whole_number(1, 100), default=90, help="JPEG quality 1-100 (90)"
    )


MIN_SIDE = 32  # a frame scaled below this holds no face worth sending


def run(options: argparse.Namespace, client: FaceflowClient, out: IO[str] = sys.stdout) -> int:
    """Run ``faceflow watch``; 0 when the source was read to its end (or stopped)."""
    if not 0.2 <= options.fps <= 30 or options.batch <= 0:
        raise ValueError("--fps must be between 0.2 and 30 and --batch positive")
    source = Source.parse(options.source)
    _cv2()  # before a stream is opened on the server
    groups = [g.strip() for item in options.group for g in item.split(",") if g.strip()]
    output = options.output.open("a", encoding="utf-8") if options.output else None

    def emit(event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False)
        out.write(line + "\n")
        out.flush()
        if output is not None:
            output.write(line + "\n")
            output.flush()

    watcher = Watcher(
        client,
        groups,
        emit,
        fps=options.fps,
        fpir=options.fpir,
        threshold=options.threshold,
        max_faces=options.max_faces,
        min_face_size=options.min_face_size,
        started_at=datetime.now(timezone.utc) if source.live else None,  # noqa: UP017 (3.10)
    )
    stop = threading.Event()
    frames = sample_frames(
        source,
        options.fps,
        max_side=options.max_side,
        jpeg_quality=options.jpeg_quality,
        max_seconds=options.max_seconds,
        stop=stop,
    )
    grouped = read_ahead(
        batches(frames, options.batch * 1000.0), source.live, watcher.summary, stop
    )
    try:
        summary = watcher.run(grouped)
    except KeyboardInterrupt:
        summary = watcher.summary
    finally:
        stop.set()
        if output is not None:
            output.close()
    dropped = summary.batches_dropped
    sys.stderr.write(
        f"{len(summary.events)} track(s) from {summary.frames_sent} frames in "
        f"{summary.batches_sent} batches"
        + (f"; {dropped} batches dropped (the server fell behind)" if dropped else "")
        + "\n"
    )
    return 0
