"""Orchestration of face clustering: every face of every photo, then the embedding service's job.

The detection service finds each photo's faces (at most ``max_faces``, with their aligned
crops; several photos at a time); each face goes to the embedding service with the photo's
name, its index in the photo and its box, so a job's result points back into the caller's
photos. A photo the detection service cannot read is named in the error; a request whose
photos hold more faces than one call to the embedding service takes is TOO_MANY_FACES (send
fewer photos at a time), so a request adds all its faces or none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from faceflow.detection.v1 import detection_pb2
from faceflow.embedding.v1 import embedding_pb2

from gateway.core.clients import ServiceClients
from gateway.core.errors import ApiError
from gateway.orchestration import pipeline

CONCURRENT_DETECTIONS = 4


@dataclass(frozen=True)
class Photo:
    """An uploaded photo: its position in the request, its name and bytes."""

    index: int
    name: str
    data: bytes

    @property
    def label(self) -> str:
        """How errors name it: ``photos[2] (beach.jpg)``."""
        default = f"photos[{self.index}]"
        return default if self.name == default else f"{default} ({self.name})"


@dataclass(frozen=True)
class DetectedPhotos:
    """The faces of a request's photos, ready for the embedding service."""

    faces: list[embedding_pb2.ClusterFaceInput]
    per_photo: list[int]
    """How many faces each photo has (request order)."""
    detections: list[detection_pb2.DetectResponse]


async def detect_photos(
    clients: ServiceClients,
    photos: Sequence[Photo],
    *,
    max_faces: int,
    min_face_size: int,
    max_request_faces: int,
) -> DetectedPhotos:
    """Every face of every photo with its crop and metadata; NO_FACE when none has a face."""
    gate = asyncio.Semaphore(CONCURRENT_DETECTIONS)

    async def detect(photo: Photo) -> detection_pb2.DetectResponse:
        async with gate:
            try:
                return await pipeline.detect(
                    clients,
                    photo.data,
                    max_faces=max_faces,
                    min_face_size=min_face_size,
                    include_aligned_crops=True,
                    keep_native_scale=True,
                )
            except ApiError as error:
                if error.status >= 500:
                    raise
                raise ApiError(
                    error.status, error.code, f"{photo.label}: {error.message}", error.headers
                ) from None

    detections = list(await asyncio.gather(*(detect(photo) for photo in photos)))
    faces = [
        embedding_pb2.ClusterFaceInput(
            crop=face.aligned_crop, photo=photo.name, face_index=index, box=face.box
        )
        for photo, detection in zip(photos, detections, strict=True)
        for index, face in enumerate(detection.faces)
    ]
    if not faces:
        count = len(photos)
        raise ApiError(
            400,
            "NO_FACE",
            "no face was found in the photo" if count == 1 else f"no face in any of {count} photos",
        )
    if len(faces) > max_request_faces:
        raise ApiError(
            400,
            "TOO_MANY_FACES",
            f"the {len(photos)} photos hold {len(faces)} faces; at most {max_request_faces} "
            "faces per request: send fewer photos at a time",
        )
    return DetectedPhotos(faces, [len(d.faces) for d in detections], detections)


def face_ids_per_photo(per_photo: Sequence[int], added: Sequence[int]) -> list[list[int]]:
    """The job's face ids of each photo's faces (``added``: ids in the order sent)."""
    ids: list[list[int]] = []
    start = 0
    for count in per_photo:
        ids.append(list(added[start : start + count]))
        start += count
    return ids
