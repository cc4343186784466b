"""Video recognition: frames -> faces -> tracks -> one gallery search per track -> events.

For each sampled frame (a JPEG: re-encoded from an uploaded video, or as a stream client sent
it) the detection service returns the faces with their 112x112 aligned crops
(``keep_native_scale``, as /search asks), the embedding service embeds the crops, and the
gateway measures each crop's quality (``services/shared/quality``). The tracker
(``services/shared/face_tracker``) joins the faces into tracks; when a track ends, its template
(the mean of its best frames' embeddings) is searched in the groups with the open-set threshold
(the embedding service's Search applies the FPIR for the number of users searched), and one
event is emitted per track.

Up to ``window`` frames are analysed at once (detection of one frame overlaps the embedding of
the previous one and the decoding of the next); the tracker takes them in order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2

from gateway.core.clients import ServiceClients
from gateway.core.config import GatewaySettings
from gateway.orchestration import pipeline
from gateway.orchestration.embedding_calls import embedding
from services.shared.face_messages import landmarks_from_proto
from services.shared.face_tracker import Detection, FaceTracker, Track, TrackerSettings
from services.shared.quality import assess_quality
from services.shared.video import VideoFrame, VideoReader

JPEG_QUALITY = 90
SEARCH_BATCH = 64  # the embedding service's probes per call

EventsCallback = Callable[[list[dict[str, Any]]], Awaitable[None]]
ProgressCallback = Callable[[int, float], Awaitable[None]]


@dataclass(frozen=True)
class VideoSearch:
    """Whom to look for and how strictly, and which faces of a frame count."""

    tenant: str
    group_ids: tuple[str, ...]
    threshold: float | None = None
    fpir: float | None = None
    max_faces: int = 10
    min_face_size: int = 0

    def as_json(self) -> dict[str, Any]:
        """Stored with a job or a stream."""
        return {
            "group_ids": list(self.group_ids),
            "threshold": self.threshold,
            "fpir": self.fpir,
            "max_faces": self.max_faces,
            "min_face_size": self.min_face_size,
        }

    @classmethod
    def from_json(cls, tenant: str, value: dict[str, Any]) -> VideoSearch:
        return cls(
            tenant=tenant,
            group_ids=tuple(value["group_ids"]),
            threshold=value.get("threshold"),
            fpir=value.get("fpir"),
            max_faces=int(value["max_faces"]),
            min_face_size=int(value["min_face_size"]),
        )


def tracker_settings(
    base: TrackerSettings, fps: float, gap_seconds: float, min_frames: int
) -> TrackerSettings:
    """The tracker's rules for a sampling rate: a track survives at least 2.5 sampling
    intervals unseen (one missed detection never splits it)."""
    return TrackerSettings(
        min_iou=base.min_iou,
        min_similarity=base.min_similarity,
        reid_similarity=base.reid_similarity,
        max_gap_ms=max(gap_seconds * 1000.0, 2500.0 / fps),
        min_hits=min_frames,
        best_frames=base.best_frames,
        embedding_momentum=base.embedding_momentum,
    )


def new_recognizer(
    clients: ServiceClients,
    search: VideoSearch,
    fps: float,
    settings: GatewaySettings,
    tracker_state: dict[str, Any] | None = None,
) -> VideoRecognizer:
    """A recognizer for frames taken at ``fps`` with the gateway's track rules; continuing
    from ``tracker_state`` (a stream's) when given."""
    rules = tracker_settings(
        TrackerSettings(), fps, settings.video_track_gap_seconds, settings.video_track_min_frames
    )
    tracker = (
        FaceTracker(rules) if tracker_state is None else FaceTracker.restore(tracker_state, rules)
    )
    return VideoRecognizer(clients, search, tracker)


@dataclass
class SearchSummary:
    """What the searches answered (the last one's threshold; the models that took part)."""

    threshold: float | None = None
    fpir: float | None = None
    gallery_size: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "fpir": self.fpir, "gallery_size": self.gallery_size}


class VideoRecognizer:
    """One video's or stream's recognition state: the tracker and what the searches said."""

    def __init__(self, clients: ServiceClients, search: VideoSearch, tracker: FaceTracker) -> None:
        self.clients = clients
        self.search = search
        self.tracker = tracker
        self.summary = SearchSummary()
        self.models: dict[tuple[str, str], None] = {}
        self.frames = 0

    def _models(self, response: Any) -> None:
        for model in response.models:
            self.models.setdefault((model.name, model.version), None)

    async def analyse(self, image: bytes) -> list[Detection]:
        """The faces of one frame: box, detector score, crop quality, embedding."""
        detection = await pipeline.detect(
            self.clients,
            image,
            max_faces=self.search.max_faces,
            min_face_size=self.search.min_face_size,
            include_aligned_crops=True,
            keep_native_scale=True,
        )
        self._models(detection)
        faces = list(detection.faces)
        if not faces:
            return []
        embedded = await embedding(self.clients).embed(
            embedding_pb2.EmbedRequest(
                tenant=self.search.tenant, crops=[face.aligned_crop for face in faces]
            )
        )
        self._models(embedded)
        return [
            _detection(face, vector.values)
            for face, vector in zip(faces, embedded.embeddings, strict=True)
        ]

    async def add(self, time_ms: float, detections: list[Detection]) -> list[dict[str, Any]]:
        """Feed one analysed frame (in time order); the events of the tracks that ended."""
        self.frames += 1
        return await self.events(self.tracker.update(time_ms, detections))

    async def finish(self) -> list[dict[str, Any]]:
        """End every open track; their events."""
        return await self.events(self.tracker.finish())

    async def events(self, tracks: Sequence[Track]) -> list[dict[str, Any]]:
        """Search each track's template (one probe per track) and build its event."""
        out: list[dict[str, Any]] = []
        ordered = sorted(tracks, key=lambda t: (t.first_ms, t.track_id))
        for start in range(0, len(ordered), SEARCH_BATCH):
            batch = ordered[start : start + SEARCH_BATCH]
            request = embedding_pb2.SearchRequest(
                tenant=self.search.tenant,
                probes=[
                    embedding_pb2.Probe(
                        embedding=embedding_pb2.Embedding(values=t.template().tolist())
                    )
                    for t in batch
                ],
                group_ids=list(self.search.group_ids),
                top_k=1,
            )
            if self.search.threshold is not None:
                request.min_score = self.search.threshold
            if self.search.fpir is not None:
                request.fpir = self.search.fpir
            result = await embedding(self.clients).search(request)
            self._models(result)
            self.summary = SearchSummary(
                threshold=round(result.min_score, 2),
                fpir=float(f"{result.fpir:.3g}"),
                gallery_size=result.gallery_size,
            )
            for track, found in zip(batch, result.results, strict=True):
                out.append(track_event(track, found.matches[0] if found.matches else None))
        return out

    def model_list(self) -> list[dict[str, str]]:
        """The models that took part, in first-use order."""
        return [{"name": name, "version": version} for name, version in self.models]


def _detection(face: common_pb2.Face, values: Sequence[float]) -> Detection:
    crop = face.aligned_crop
    pixels = np.frombuffer(crop.rgb, dtype=np.uint8).reshape(crop.size, crop.size, 3)
    box = face.box
    quality = assess_quality(pixels, (box.width, box.height), landmarks_from_proto(face))
    return Detection(
        box=(box.x, box.y, box.width, box.height),
        score=float(face.score),
        quality=quality.score,
        embedding=np.asarray(values, dtype=np.float32),
    )


def track_event(track: Track, match: embedding_pb2.Match | None) -> dict[str, Any]:
    """The public event of one ended track (times in seconds from the video's start)."""
    best = track.best_frame
    x, y, width, height = best.detection.box
    return {
        "track_id": track.track_id,
        "user_id": match.user_id if match is not None else None,
        "group_id": match.group_id if match is not None else None,
        "user_info": (match.user_info or None) if match is not None else None,
        "face_token": match.face_token if match is not None else None,
        "score": round(match.score, 2) if match is not None else None,
        "first_seen": round(track.first_ms / 1000.0, 3),
        "last_seen": round(track.last_ms / 1000.0, 3),
        "frames": track.hits,
        "best_frame": {
            "time": round(best.time_ms / 1000.0, 3),
            "box": {
                "x": round(x, 1),
                "y": round(y, 1),
                "width": round(width, 1),
                "height": round(height, 1),
            },
            "score": round(best.detection.score, 4),
            "quality": round(best.detection.quality, 3),
        },
    }


async def recognize(
    recognizer: VideoRecognizer,
    frames: AsyncIterator[tuple[float, bytes]],
    *,
    window: int,
    on_events: EventsCallback | None = None,
    on_progress: ProgressCallback | None = None,
    finish: bool = True,
) -> list[dict[str, Any]]:
    """Run frames (time in ms, JPEG) through the recognizer; every event, in order of ending.

    ``on_events`` gets the events as tracks end; ``on_progress`` (frames done, last time)
    after each frame. ``finish``: end the open tracks at the end (False for a stream's batch).
    """
    found: list[dict[str, Any]] = []
    pending: deque[tuple[float, asyncio.Task[list[Detection]]]] = deque()

    async def take_oldest() -> None:
        time_ms, task = pending.popleft()
        events = await recognizer.add(time_ms, await task)
        if events:
            found.extend(events)
            if on_events is not None:
                await on_events(events)
        if on_progress is not None:
            await on_progress(recognizer.frames, time_ms)

    try:
        async for time_ms, image in frames:
            pending.append((time_ms, asyncio.create_task(recognizer.analyse(image))))
            if len(pending) >= window:
                await take_oldest()
        while pending:
            await take_oldest()
    finally:
        for _, task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)
    if finish:
        events = await recognizer.finish()
        if events:
            found.extend(events)
            if on_events is not None:
                await on_events(events)
    return found


def _jpeg(frame: VideoFrame) -> tuple[float, bytes]:
    ok, data = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - a decoded frame always encodes
        raise RuntimeError("JPEG encoding of a video frame failed")
    return frame.time_ms, data.tobytes()


def _next_jpeg(iterator: Iterator[VideoFrame]) -> tuple[float, bytes] | None:
    frame = next(iterator, None)
    return None if frame is None else _jpeg(frame)


async def video_frames(reader: VideoReader, fps: float) -> AsyncIterator[tuple[float, bytes]]:
    """The reader's frames at ``fps`` as (time ms, JPEG), decoded and encoded on a thread.

    Cancelled while a frame is being decoded, it waits for that thread before it gives up: the
    caller closes the reader next, and OpenCV must not release a capture that is reading.
    """
    iterator = reader.frames(fps, bgr=True)
    loop = asyncio.get_running_loop()
    while True:
        decoding = loop.run_in_executor(None, _next_jpeg, iterator)
        try:
            item = await asyncio.shield(decoding)
        except asyncio.CancelledError:
            await asyncio.wait([decoding])
            raise
        if item is None:
            return
        yield item


async def stream_frames(
    images: Sequence[bytes], times_ms: Sequence[float]
) -> AsyncIterator[tuple[float, bytes]]:
    """A stream batch's frames as they came (already JPEG/PNG)."""
    for time_ms, image in zip(times_ms, images, strict=True):
        yield time_ms, image
