"""Real video made from real photos: clips composed from lfw-devtest portraits.

A clip is a scene (a synthetic room: a graded wall, a floor line, a few pieces of furniture)
in which people appear: each is the central portrait of one LFW photo (250x250, the person
in the middle), feathered into the scene, moving along keyframes (walking in from outside
the frame, stopping, coming closer, leaving). A camera pans and zooms over the scene, so
every face moves in the frame even when the person stands still. Frames are written with
OpenCV's ``VideoWriter`` (mp4v in mp4; VP8/VP9 in webm where the OpenCV build can write it).

``recognition_scene`` is the scene of the video-recognition tests: two enrolled people (their
enrolment photos are other photos of them than the clip's) and two bystanders who are in no
gallery; one enrolled person walks through twice (two appearances, two tracks). Each
``Appearance`` knows when it is in view, for the tests to compare events with.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

EDGE_SLACK_S = 0.7  # a face half out of the frame is detected a little later / earlier
FRAME_SIZE = (640, 480)
WORLD_SIZE = (760, 570)  # the scene the camera looks at (a little larger than the frame)
# The portrait taken from a 250x250 LFW photo: the person in the middle, without the edges
# where bystanders sometimes stand.
PORTRAIT = (slice(30, 230), slice(50, 200))


@dataclass(frozen=True)
class Keyframe:
    """Where a person stands at time t: the portrait's centre and height, scene pixels."""

    t: float
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Appearance:
    """One person walking through the scene along keyframes (in view from first to last)."""

    person: str
    photo: str
    keyframes: tuple[Keyframe, ...]
    enrolled: bool

    @property
    def start_s(self) -> float:
        return self.keyframes[0].t

    @property
    def end_s(self) -> float:
        return self.keyframes[-1].t

    def at(self, t: float) -> Keyframe | None:
        """Position at t (linear between keyframes); None outside the appearance."""
        frames = self.keyframes
        if t < frames[0].t or t > frames[-1].t:
            return None
        for a, b in itertools.pairwise(frames):
            if a.t <= t <= b.t:
                w = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
                return Keyframe(
                    t,
                    a.x + w * (b.x - a.x),
                    a.y + w * (b.y - a.y),
                    a.height + w * (b.height - a.height),
                )
        return frames[-1]


@dataclass(frozen=True)
class CameraKey:
    """The camera at time t: zoom (1 = the frame sees 640x480 scene pixels) and the scene
    point at the frame's centre."""

    t: float
    zoom: float
    cx: float
    cy: float


@dataclass(frozen=True)
class Scene:
    """People, a camera and a length; ``enrolment`` names the photos enrolled per person."""

    appearances: tuple[Appearance, ...]
    camera: tuple[CameraKey, ...]
    duration_s: float
    enrolment: dict[str, tuple[str, ...]] = field(default_factory=dict)
    size: tuple[int, int] = FRAME_SIZE

    def camera_at(self, t: float) -> CameraKey:
        keys = self.camera
        if t <= keys[0].t:
            return keys[0]
        for a, b in itertools.pairwise(keys):
            if a.t <= t <= b.t:
                w = (t - a.t) / (b.t - a.t)
                return CameraKey(
                    t,
                    a.zoom + w * (b.zoom - a.zoom),
                    a.cx + w * (b.cx - a.cx),
                    a.cy + w * (b.cy - a.cy),
                )
        return keys[-1]


def photo_path(shared_data: Path, photo: str) -> Path:
    """``Person_Name_0004.jpg`` -> its path in lfw-devtest."""
    person = photo.rsplit("_", 1)[0]
    return shared_data / "lfw-devtest" / "images" / person / photo


def room(size: tuple[int, int] = WORLD_SIZE, seed: int = 3) -> NDArray[np.uint8]:
    """A plain synthetic room (BGR): graded wall, floor, a door, a shelf, a plant pot."""
    width, height = size
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height)[:, None]
    wall = np.stack([170 - 30 * y, 180 - 25 * y, 190 - 20 * y], axis=-1)
    image = np.broadcast_to(wall, (height, width, 3)).astype(np.float64)
    floor = int(height * 0.78)
    image[floor:] = (95, 110, 125)
    image += rng.normal(0.0, 3.0, image.shape)  # sensor noise and wall texture
    canvas = np.ascontiguousarray(np.clip(image, 0, 255), dtype=np.uint8)
    cv2.rectangle(canvas, (40, 120), (170, floor), (60, 80, 110), -1)  # a door
    cv2.rectangle(canvas, (width - 190, 200), (width - 40, 230), (50, 70, 90), -1)  # a shelf
    cv2.rectangle(canvas, (width - 150, 150), (width - 110, 200), (40, 120, 60), -1)  # books
    cv2.ellipse(canvas, (width // 2, floor + 40), (40, 25), 0, 0, 360, (30, 60, 90), -1)
    return canvas


class Portraits:
    """Each photo's central portrait and its feathered oval mask, loaded once."""

    def __init__(self, shared_data: Path) -> None:
        self.shared_data = shared_data
        self._cache: dict[str, tuple[NDArray[np.uint8], NDArray[np.float32]]] = {}

    def get(self, photo: str) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        if photo not in self._cache:
            image = cv2.imread(str(photo_path(self.shared_data, photo)), cv2.IMREAD_COLOR)
            if image is None:
                raise FileNotFoundError(photo_path(self.shared_data, photo))
            portrait = np.ascontiguousarray(image[PORTRAIT], dtype=np.uint8)
            h, w = portrait.shape[:2]
            oval = np.zeros((h, w), np.float32)
            cv2.ellipse(oval, (w // 2, h // 2), (int(w * 0.46), int(h * 0.47)), 0, 0, 360, 1.0, -1)
            mask = np.asarray(cv2.GaussianBlur(oval, (0, 0), 6.0), dtype=np.float32)
            self._cache[photo] = (portrait, mask)
        return self._cache[photo]


def _paste(
    world: NDArray[np.float32],
    portrait: NDArray[np.uint8],
    mask: NDArray[np.float32],
    key: Keyframe,
) -> None:
    h0, w0 = portrait.shape[:2]
    height = max(8, round(key.height))
    width = max(8, round(key.height * w0 / h0))
    sprite = cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    x0, y0 = round(key.x - width / 2), round(key.y - height / 2)
    wh, ww = world.shape[:2]
    left, top = max(0, x0), max(0, y0)
    right, bottom = min(ww, x0 + width), min(wh, y0 + height)
    if right <= left or bottom <= top:
        return
    part = (slice(top - y0, bottom - y0), slice(left - x0, right - x0))
    region = world[top:bottom, left:right]
    a = alpha[part]
    region[:] = a * sprite[part] + (1.0 - a) * region


def render(
    scene: Scene, shared_data: Path, fps: float
) -> Iterator[tuple[float, NDArray[np.uint8]]]:
    """(time in seconds, BGR frame) of every frame of the scene at ``fps``."""
    portraits = Portraits(shared_data)
    background = room().astype(np.float32)
    out_w, out_h = scene.size
    count = round(scene.duration_s * fps)
    for index in range(count):
        t = index / fps
        world = background.copy()
        # farther (smaller) people first, so the nearer ones are drawn over them
        visible = [(a, a.at(t)) for a in scene.appearances]
        for appearance, key in sorted(
            ((a, k) for a, k in visible if k is not None), key=lambda item: item[1].height
        ):
            portrait, mask = portraits.get(appearance.photo)
            _paste(world, portrait, mask, key)
        cam = scene.camera_at(t)
        scale = cam.zoom * out_w / FRAME_SIZE[0]
        matrix = np.array(
            [[scale, 0.0, out_w / 2 - scale * cam.cx], [0.0, scale, out_h / 2 - scale * cam.cy]],
            dtype=np.float64,
        )
        frame = cv2.warpAffine(
            np.clip(world, 0, 255).astype(np.uint8),
            matrix,
            (out_w, out_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        yield t, np.asarray(frame, dtype=np.uint8)


def fourcc_code(fourcc: str) -> int:
    """OpenCV's four-character codec code (``VideoWriter_fourcc``, untyped in its stubs)."""
    code: int = cv2.VideoWriter_fourcc(*fourcc)  # type: ignore[attr-defined]
    return code


def can_write(fourcc: str, suffix: str) -> bool:
    """Whether this OpenCV build writes ``fourcc`` into a ``suffix`` file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"probe{suffix}"
        writer = cv2.VideoWriter(str(path), fourcc_code(fourcc), 10.0, (64, 48))
        try:
            if not writer.isOpened():
                return False
            for _ in range(3):
                writer.write(np.zeros((48, 64, 3), np.uint8))
        finally:
            writer.release()
        capture = cv2.VideoCapture(str(path))
        try:
            return bool(capture.isOpened() and capture.read()[0])
        finally:
            capture.release()


def write_clip(
    scene: Scene, shared_data: Path, path: Path, fps: float = 15.0, fourcc: str = "mp4v"
) -> bytes:
    """Render the scene into a video file; its bytes."""
    writer = cv2.VideoWriter(str(path), fourcc_code(fourcc), fps, scene.size)
    if not writer.isOpened():
        raise RuntimeError(f"this OpenCV build cannot write {fourcc} into {path.suffix}")
    try:
        for _, frame in render(scene, shared_data, fps):
            writer.write(frame)
    finally:
        writer.release()
    return path.read_bytes()


def astronaut_clip(path: Path, seconds: float, fps: float = 10.0, fourcc: str = "mp4v") -> bytes:
    """A clip that needs no ../shared/data: scikit-image's astronaut photo (one face) panning
    slowly across a 320x240 frame; ``seconds`` 0 writes a video without a single frame."""
    from skimage import data

    photo = cv2.cvtColor(np.asarray(data.astronaut(), dtype=np.uint8), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), fourcc_code(fourcc), fps, (320, 240))
    if not writer.isOpened():
        raise RuntimeError(f"this OpenCV build cannot write {fourcc} into {path.suffix}")
    try:
        for index in range(round(seconds * fps)):
            left = 40 + (index * 3) % 120
            writer.write(cv2.resize(photo[40:400, left : left + 300], (320, 240)))
    finally:
        writer.release()
    return path.read_bytes()


# -- a webm as a browser records it ---------------------------------------------------------

EBML_SEGMENT, EBML_INFO, EBML_TRACKS, EBML_CLUSTER = 0x18538067, 0x1549A966, 0x1654AE6B, 0x1F43B675
EBML_DURATION, EBML_DEFAULT_DURATION = 0x4489, 0x23E383
EBML_TIMECODE, EBML_SIMPLE_BLOCK = 0xE7, 0xA3


def _vint(data: bytes, pos: int, *, marker: bool = False) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: (value, its length in bytes)."""
    first = data[pos]
    length = 9 - first.bit_length()
    value = first if marker else first & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length


def _children(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(id, body) of each EBML element in ``data`` (an unknown size runs to the end)."""
    pos = 0
    while pos < len(data):
        element_id, id_length = _vint(data, pos, marker=True)
        size, size_length = _vint(data, pos + id_length)
        body = pos + id_length + size_length
        if size == (1 << (7 * size_length)) - 1:
            size = len(data) - body
        yield element_id, data[body : body + size]
        pos = body + size


def _element(element_id: int, body: bytes) -> bytes:
    """An EBML element (its size written in 8 bytes)."""
    size = len(body) | (1 << 56)
    head = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size.to_bytes(8, "big")
    return head + body


def _without(data: bytes, drop: int) -> bytes:
    return b"".join(_element(i, body) for i, body in _children(data) if i != drop)


def browser_webm(path: Path, frames: Sequence[NDArray[np.uint8]], times_ms: Sequence[int]) -> bytes:
    """A VP8 webm as a browser's MediaRecorder writes it: no declared frame rate (no track
    DefaultDuration, so OpenCV reports the 1 ms time base, 1000 fps, when the times are
    irregular), no duration, a segment of unknown size, no cues; each frame (BGR) at its own
    time in ``times_ms`` (whole ms, at most 32 s). The frames are encoded by OpenCV's writer
    and moved into that container."""
    size = (frames[0].shape[1], frames[0].shape[0])
    writer = cv2.VideoWriter(str(path), fourcc_code("VP80"), 30.0, size)
    if not writer.isOpened():
        raise RuntimeError("this OpenCV build cannot write VP8 into webm")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    (header_id, header), (_, segment) = list(_children(path.read_bytes()))[:2]
    kept = b""
    blocks: list[bytes] = []
    for element_id, body in _children(segment):
        if element_id == EBML_INFO:
            kept += _element(element_id, _without(body, EBML_DURATION))
        elif element_id == EBML_TRACKS:
            tracks = b"".join(
                _element(i, _without(entry, EBML_DEFAULT_DURATION)) for i, entry in _children(body)
            )
            kept += _element(element_id, tracks)
        elif element_id == EBML_CLUSTER:
            blocks += [b for i, b in _children(body) if i == EBML_SIMPLE_BLOCK]
    if len(blocks) != len(times_ms):
        raise RuntimeError(f"{len(blocks)} encoded frames for {len(times_ms)} times")
    cluster = _element(EBML_TIMECODE, b"\x00")
    for block, time_ms in zip(blocks, times_ms, strict=True):
        _, track_length = _vint(block, 0)  # then a signed 16-bit time from the cluster's
        retimed = block[:track_length] + int(time_ms).to_bytes(2, "big", signed=True)
        retimed += block[track_length + 2 :]
        cluster += _element(EBML_SIMPLE_BLOCK, retimed)
    unknown_size = b"\x01\xff\xff\xff\xff\xff\xff\xff"
    data = (
        _element(header_id, header)
        + EBML_SEGMENT.to_bytes(4, "big")
        + unknown_size
        + kept
        + _element(EBML_CLUSTER, cluster)
    )
    path.write_bytes(data)
    return data


# -- the scene of the recognition tests ------------------------------------------------------

ENROLLED = {
    "Paul_Martin": ("Paul_Martin_0001.jpg", "Paul_Martin_0002.jpg"),
    "Emma_Watson": ("Emma_Watson_0001.jpg", "Emma_Watson_0002.jpg"),
}
BYSTANDERS = ("Carlos_Ghosn", "Zhang_Yimou")
"""People with one photo in lfw-devtest, enrolled nowhere."""


def recognition_scene(duration_s: float = 9.0) -> Scene:
    """Two enrolled people and two bystanders walking through a panning, zooming camera.

    Paul Martin walks in from the left, stops, and leaves to the right; later he comes back
    (a second appearance). Emma Watson stands and comes closer (her face grows). The
    bystanders cross the room, one of them small in the background while Emma stands.
    """
    paul, emma = "Paul_Martin_0004.jpg", "Emma_Watson_0004.jpg"
    appearances = (
        Appearance(
            "Paul_Martin",
            paul,
            (
                Keyframe(0.0, -60, 260, 170),
                Keyframe(1.2, 220, 255, 175),
                Keyframe(2.6, 240, 250, 180),
                Keyframe(3.8, 820, 255, 175),
            ),
            enrolled=True,
        ),
        Appearance(
            "Emma_Watson",
            emma,
            (
                Keyframe(1.0, 520, 250, 140),
                Keyframe(3.0, 530, 255, 160),
                Keyframe(5.5, 500, 265, 215),
            ),
            enrolled=True,
        ),
        Appearance(
            "Carlos_Ghosn",
            "Carlos_Ghosn_0001.jpg",
            (Keyframe(1.6, 300, 150, 110), Keyframe(4.4, 150, 160, 115)),
            enrolled=False,
        ),
        Appearance(
            "Zhang_Yimou",
            "Zhang_Yimou_0001.jpg",
            (
                Keyframe(5.2, 820, 250, 170),
                Keyframe(6.4, 560, 250, 170),
                Keyframe(7.6, -80, 255, 165),
            ),
            enrolled=False,
        ),
        Appearance(
            "Paul_Martin",
            paul,
            (
                Keyframe(6.8, 380, 600, 150),
                Keyframe(7.6, 380, 270, 175),
                Keyframe(8.8, 330, 270, 185),
            ),
            enrolled=True,
        ),
    )
    camera = (
        CameraKey(0.0, 1.0, 380, 285),
        CameraKey(3.0, 1.12, 400, 270),
        CameraKey(6.0, 1.0, 360, 290),
        CameraKey(9.0, 1.08, 380, 280),
    )
    return Scene(appearances, camera, duration_s, enrolment=dict(ENROLLED))


# -- what the tests expect of the events -----------------------------------------------------


def time_iou(event: dict[str, Any], appearance: Appearance) -> float:
    """How well an event's [first_seen, last_seen] covers an appearance's time in the scene."""
    inter = min(event["last_seen"], appearance.end_s) - max(event["first_seen"], appearance.start_s)
    union = max(event["last_seen"], appearance.end_s) - min(event["first_seen"], appearance.start_s)
    return max(0.0, float(inter)) / float(union) if union > 0 else 0.0


def check_events(events: list[dict[str, Any]], scene: Scene) -> None:
    """One event per appearance: the enrolled people named, the bystanders left null.

    Appearances and events are paired by how well their times agree (best pairs first);
    every event must be some appearance's (no extra or split tracks).
    """
    assert len(events) == len(scene.appearances), [
        (e["user_id"], e["first_seen"], e["last_seen"]) for e in events
    ]
    pairs = sorted(
        (
            (time_iou(event, appearance), a, e)
            for a, appearance in enumerate(scene.appearances)
            for e, event in enumerate(events)
        ),
        reverse=True,
    )
    paired: dict[int, int] = {}
    for score, a, e in pairs:
        if score > 0.3 and a not in paired and e not in paired.values():
            paired[a] = e
    assert len(paired) == len(events), (paired, events)
    for a, e in paired.items():
        appearance, event = scene.appearances[a], events[e]
        expected = appearance.person if appearance.enrolled else None
        assert event["user_id"] == expected, (appearance.person, event)
        assert event["first_seen"] >= appearance.start_s - 0.01
        assert event["first_seen"] <= appearance.start_s + EDGE_SLACK_S + 0.5
        assert event["last_seen"] <= appearance.end_s + 0.01
        assert event["last_seen"] >= appearance.end_s - EDGE_SLACK_S - 0.5
        if expected is None:
            assert event["score"] is None and event["group_id"] is None
        else:
            assert event["score"] >= 40.0 and event["face_token"]
        best = event["best_frame"]
        assert event["first_seen"] <= best["time"] <= event["last_seen"]
        assert 0 < best["score"] <= 1 and 0 < best["quality"] <= 1
        box = best["box"]
        assert box["width"] > 30 and box["height"] > 30
        assert -box["width"] < box["x"] < 640 and -box["height"] < box["y"] < 480
    assert sorted(e["track_id"] for e in events) == list(range(1, len(events) + 1))
