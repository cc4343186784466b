"""Follow one face through the frames: detect, pick the tracked face, mesh, signals, embedding.

The first frame's largest face starts the track; later frames take the face whose box centre
is nearest the previous one. A second face at least ``second_face_area_ratio`` as large as the
tracked one counts as another person in the frame (small background faces are ignored); until
a face is tracked, the floor is relative to the largest face. The floor follows the tracked
face, not the largest: a bigger face appearing beside the user is a second person
(``MULTIPLE_FACES``), not a reason to drop the user's own face and follow the newcomer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.liveness.geometry import FaceSignals, face_signals
from services.shared.alignment import align_face
from services.shared.model_zoo import DetectedFace, Embedder, FaceMesh, YuNetDetector
from services.shared.model_zoo.face_order import largest_first


@dataclass
class TrackedFrame:
    """What one frame contributed."""

    index: int
    time_ms: float
    faces: int  # significant faces in the frame
    face: DetectedFace | None = None
    signals: FaceSignals | None = None
    embedding: NDArray[np.float32] | None = None


def _centre(face: DetectedFace) -> NDArray[np.float64]:
    x, y, w, h = face.box
    return np.array([x + w / 2, y + h / 2])


class FaceTracker:
    """Runs the per-frame models and keeps the track."""

    def __init__(
        self,
        detector: YuNetDetector,
        mesh: FaceMesh,
        embedder: Embedder,
        second_face_area_ratio: float,
    ) -> None:
        self.detector = detector
        self.mesh = mesh
        self.embedder = embedder
        self.second_face_area_ratio = second_face_area_ratio

    def significant_faces(
        self, image: NDArray[np.uint8], tracked: DetectedFace | None = None
    ) -> list[DetectedFace]:
        """Detect, then keep the significant faces (see ``significant``), largest first."""
        return self.significant(self.detector.detect(image), tracked)

    def significant(
        self, faces: list[DetectedFace], tracked: DetectedFace | None = None
    ) -> list[DetectedFace]:
        """Drop faces much smaller than the reference (background people), largest first.

        The reference is the tracked face when there is one (the previous frame's), else the
        largest face: relative to the largest, a bigger newcomer would push the user's own face
        under the floor and the track would jump to the newcomer.
        """
        ordered = largest_first(faces)
        if not ordered:
            return []
        reference = tracked if tracked is not None else ordered[0]
        floor = reference.area * self.second_face_area_ratio
        return [f for f in ordered if f.area >= floor]

    def track(self, images: list[NDArray[np.uint8]], times_ms: list[float]) -> list[TrackedFrame]:
        """One TrackedFrame per image, in order."""
        tracked: list[TrackedFrame] = []
        previous: DetectedFace | None = None
        for index, (image, time_ms) in enumerate(zip(images, times_ms, strict=True)):
            faces = self.significant_faces(image, previous)
            frame = TrackedFrame(index=index, time_ms=time_ms, faces=len(faces))
            if faces:
                if previous is None:
                    face = faces[0]
                else:
                    anchor = _centre(previous)
                    face = min(faces, key=lambda f: float(np.linalg.norm(_centre(f) - anchor)))
                frame.face = face
                mesh = self.mesh.landmarks(image, face)
                size = (image.shape[1], image.shape[0])
                frame.signals = face_signals(mesh, face.landmarks, size)
                crop = align_face(image, face.landmarks)
                frame.embedding = self.embedder.embed(crop)[0]
                previous = face
            tracked.append(frame)
        return tracked
