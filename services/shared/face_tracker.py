"""Follow faces through a video: one track per appearance of a person, and its best frames.

``FaceTracker.update(time_ms, detections)`` takes the faces of one sampled frame (box,
detector score, a quality in [0, 1] and the unit embedding of the aligned crop) in time
order and returns the tracks that ended; ``finish()`` ends the rest (end of the video).

Association, frame to frame: a detection continues a live track when
- their boxes overlap (IoU at least ``min_iou``) and the faces are not clearly different
  people (cosine at least ``min_similarity``): the usual case, a face moving a little; or
- the faces are clearly the same person (cosine at least ``reid_similarity``) wherever the
  box is: fast motion at a low sampling rate, or a face hidden for a moment.
Pairs are taken greedily, best first (IoU + cosine); with the handful of faces of a frame
greedy and optimal assignment agree except in contrived ties. A track holds the running mean
of its embeddings (re-normalised), so a slow turn of the head keeps its identity.

Start and end: an unmatched detection starts a tentative track; it is confirmed after
``min_hits`` detections (one-frame false detections never become events). A track not
seen for ``max_gap_ms`` has ended: a person who leaves and comes back later is a new track.
Unconfirmed tracks end silently.

Best frames: each track keeps its ``best_frames`` detections ranked by detector score times
quality (size, sharpness, lighting and pose of the aligned crop; ``services/shared/quality``);
``Track.template()`` is the normalised mean of their embeddings, the one probe searched for
the track (one open-set decision per appearance).

``state()`` / ``FaceTracker.restore()`` carry live tracks over JSON, for a stream that
arrives in batches (a track that crosses a batch is one track).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Box = tuple[float, float, float, float]
"""x, y, width, height in pixels."""

STATE_VERSION = 1


@dataclass(frozen=True)
class TrackerSettings:
    """The association and lifetime rules (defaults: docs/albums-and-cameras.md)."""

    min_iou: float = 0.2
    min_similarity: float = 0.2
    reid_similarity: float = 0.45
    max_gap_ms: float = 1000.0
    min_hits: int = 2
    best_frames: int = 3
    embedding_momentum: float = 0.7  # weight of the track's mean against a new embedding
    max_live_tracks: int = 200  # more: the longest-unseen tracks end early (state stays bounded)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_iou <= 1.0:
            raise ValueError("min_iou must be in [0, 1]")
        if not -1.0 <= self.min_similarity <= self.reid_similarity <= 1.0:
            raise ValueError("need -1 <= min_similarity <= reid_similarity <= 1")
        if self.max_gap_ms <= 0 or self.min_hits < 1 or self.best_frames < 1:
            raise ValueError("max_gap_ms must be positive, min_hits and best_frames at least 1")
        if self.max_live_tracks < 1:
            raise ValueError("max_live_tracks must be at least 1")
        if not 0.0 <= self.embedding_momentum < 1.0:
            raise ValueError("embedding_momentum must be in [0, 1)")


@dataclass(frozen=True)
class Detection:
    """One face of one frame, as the tracker needs it."""

    box: Box
    score: float
    quality: float
    embedding: NDArray[np.float32]

    @property
    def rank(self) -> float:
        """How good a frame of the face this is: detector score times quality."""
        return self.score * self.quality


@dataclass(frozen=True)
class BestFrame:
    """A detection kept among a track's best, with its time."""

    time_ms: float
    detection: Detection


@dataclass
class Track:
    """One appearance of one person."""

    track_id: int
    first_ms: float
    last_ms: float
    box: Box
    embedding: NDArray[np.float32]
    hits: int = 1
    best: list[BestFrame] = field(default_factory=list)

    def template(self) -> NDArray[np.float32]:
        """The probe searched for this track: the normalised mean of its best frames."""
        mean = np.mean([b.detection.embedding for b in self.best], axis=0)
        return _unit(mean)

    @property
    def best_frame(self) -> BestFrame:
        """The single best frame."""
        return self.best[0]

    def _keep(self, time_ms: float, detection: Detection, limit: int) -> None:
        self.best.append(BestFrame(time_ms, detection))
        self.best.sort(key=lambda b: (-b.detection.rank, b.time_ms))
        del self.best[limit:]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = aw * ah + bw * bh - inter
    return float(inter / union) if union > 0 else 0.0


def _unit(vector: NDArray[Any]) -> NDArray[np.float32]:
    norm = float(np.linalg.norm(vector))
    out = np.asarray(vector, dtype=np.float32)
    return out / norm if norm > 0 else out


class FaceTracker:
    """Tracks of one video or stream (not thread-safe: one caller feeds it in time order)."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self.live: list[Track] = []
        self.next_id = 1
        self.last_ms: float | None = None

    def update(self, time_ms: float, detections: list[Detection]) -> list[Track]:
        """Add one frame's faces; the confirmed tracks that ended before this frame."""
        if self.last_ms is not None and time_ms < self.last_ms:
            raise ValueError(f"frame time {time_ms} ms is before the previous {self.last_ms} ms")
        self.last_ms = time_ms
        ended = self._end_stale(time_ms)
        unmatched = self._associate(time_ms, detections)
        for detection in unmatched:
            self._start(time_ms, detection)
        return ended + self._end_over_limit()

    def finish(self) -> list[Track]:
        """End every live track (the video is over); the confirmed ones, oldest first."""
        ended = [t for t in self.live if t.hits >= self.settings.min_hits]
        self.live = []
        return sorted(ended, key=lambda t: (t.first_ms, t.track_id))

    def _end_stale(self, time_ms: float) -> list[Track]:
        stale = [t for t in self.live if time_ms - t.last_ms > self.settings.max_gap_ms]
        self.live = [t for t in self.live if t not in stale]
        return [t for t in stale if t.hits >= self.settings.min_hits]

    def _end_over_limit(self) -> list[Track]:
        """Past ``max_live_tracks`` (many faces whose frame times barely advance, so none goes
        stale), end the tracks unseen longest; the confirmed ones are answered, not lost."""
        excess = len(self.live) - self.settings.max_live_tracks
        if excess <= 0:
            return []
        oldest = sorted(self.live, key=lambda t: (t.last_ms, t.track_id))[:excess]
        self.live = [t for t in self.live if t not in oldest]
        return [t for t in oldest if t.hits >= self.settings.min_hits]

    def _associate(self, time_ms: float, detections: list[Detection]) -> list[Detection]:
        """Continue live tracks with the detections that belong to them; the rest."""
        rules = self.settings
        pairs: list[tuple[float, int, int]] = []
        for t, track in enumerate(self.live):
            for d, detection in enumerate(detections):
                overlap = iou(track.box, detection.box)
                similarity = float(np.dot(track.embedding, detection.embedding))
                near = overlap >= rules.min_iou and similarity >= rules.min_similarity
                if near or similarity >= rules.reid_similarity:
                    pairs.append((overlap + similarity, t, d))
        pairs.sort(reverse=True)
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        for _, t, d in pairs:
            if t in used_tracks or d in used_detections:
                continue
            used_tracks.add(t)
            used_detections.add(d)
            self._continue(self.live[t], time_ms, detections[d])
        return [d for i, d in enumerate(detections) if i not in used_detections]

    def _continue(self, track: Track, time_ms: float, detection: Detection) -> None:
        momentum = self.settings.embedding_momentum
        track.embedding = _unit(momentum * track.embedding + (1 - momentum) * detection.embedding)
        track.box = detection.box
        track.last_ms = time_ms
        track.hits += 1
        track._keep(time_ms, detection, self.settings.best_frames)

    def _start(self, time_ms: float, detection: Detection) -> None:
        track = Track(
            track_id=self.next_id,
            first_ms=time_ms,
            last_ms=time_ms,
            box=detection.box,
            embedding=_unit(detection.embedding),
        )
        track._keep(time_ms, detection, self.settings.best_frames)
        self.next_id += 1
        self.live.append(track)

    # -- carrying the live tracks over JSON (a stream sent in batches) -----------------------

    def state(self) -> dict[str, Any]:
        """The live tracks and the counters, as JSON-safe values."""
        return {
            "version": STATE_VERSION,
            "next_id": self.next_id,
            "last_ms": self.last_ms,
            "live": [_track_state(track) for track in self.live],
        }

    @classmethod
    def restore(cls, state: dict[str, Any], settings: TrackerSettings | None = None) -> FaceTracker:
        """A tracker continuing from ``state()``; ValueError when it is not one."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown tracker state version {state.get('version')!r}")
        tracker = cls(settings)
        tracker.next_id = int(state["next_id"])
        last = state.get("last_ms")
        tracker.last_ms = None if last is None else float(last)
        tracker.live = [_track_from_state(item) for item in state["live"]]
        return tracker


def _vector_text(vector: NDArray[np.float32]) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _vector(text: str) -> NDArray[np.float32]:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


def _box(value: Any) -> Box:
    x, y, w, h = (float(v) for v in value)
    return (x, y, w, h)


def _track_state(track: Track) -> dict[str, Any]:
    return {
        "id": track.track_id,
        "first_ms": track.first_ms,
        "last_ms": track.last_ms,
        "box": list(track.box),
        "embedding": _vector_text(track.embedding),
        "hits": track.hits,
        "best": [
            {
                "time_ms": b.time_ms,
                "box": list(b.detection.box),
                "score": b.detection.score,
                "quality": b.detection.quality,
                "embedding": _vector_text(b.detection.embedding),
            }
            for b in track.best
        ],
    }


def _track_from_state(item: dict[str, Any]) -> Track:
    return Track(
        track_id=int(item["id"]),
        first_ms=float(item["first_ms"]),
        last_ms=float(item["last_ms"]),
        box=_box(item["box"]),
        embedding=_vector(item["embedding"]),
        hits=int(item["hits"]),
        best=[
            BestFrame(
                float(b["time_ms"]),
                Detection(
                    box=_box(b["box"]),
                    score=float(b["score"]),
                    quality=float(b["quality"]),
                    embedding=_vector(b["embedding"]),
                ),
            )
            for b in item["best"]
        ],
    )
