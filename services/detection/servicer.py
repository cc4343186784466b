"""The Detect RPC: validate, decode, run the models, build the response."""

from __future__ import annotations

import grpc
from faceflow.detection.v1 import detection_pb2, detection_pb2_grpc

from services.detection.settings import DetectionSettings
from services.shared.errors import InvalidArgumentError
from services.shared.face_messages import face_to_proto
from services.shared.imaging import ImageLimits, decode_image
from services.shared.model_zoo import DetectedFace, FaceMesh, ServedModel, YuNetDetector
from services.shared.model_zoo.face_order import largest_first, nearest_centre_first


def order_faces(
    faces: list[DetectedFace], order: int, width: int, height: int
) -> list[DetectedFace]:
    """Faces largest box first, or box centre nearest the image centre first."""
    if order == detection_pb2.FACE_ORDER_CENTER:
        return nearest_centre_first(faces, width, height)
    return largest_first(faces)


class DetectionServicer(detection_pb2_grpc.DetectionServiceServicer):  # type: ignore[misc]
    """Implements faceflow.detection.v1.DetectionService."""

    def __init__(
        self,
        settings: DetectionSettings,
        detector: YuNetDetector,
        mesh: FaceMesh,
    ) -> None:
        self.settings = settings
        self.detector = detector
        self.mesh = mesh
        self.served_models: list[ServedModel] = [detector, mesh]
        self.limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)

    def _validate(self, request: detection_pb2.DetectRequest) -> int:
        if request.max_faces < 0 or request.max_faces > self.settings.max_faces_limit:
            raise InvalidArgumentError(
                f"max_faces must be between 1 and {self.settings.max_faces_limit}"
            )
        if request.min_face_size < 0:
            raise InvalidArgumentError("min_face_size must not be negative")
        if not 0.0 <= request.score_threshold < 1.0:
            raise InvalidArgumentError("score_threshold must be in [0, 1)")
        if request.order not in detection_pb2.FaceOrder.values():
            raise InvalidArgumentError(f"unknown face order {request.order}")
        return request.max_faces or self.settings.default_max_faces

    def close(self) -> None:
        """Nothing to release: the models live as long as the process."""

    def Detect(  # noqa: N802 (gRPC method name)
        self, request: detection_pb2.DetectRequest, context: grpc.ServicerContext
    ) -> detection_pb2.DetectResponse:
        max_faces = self._validate(request)
        image = decode_image(request.image.data, self.limits)
        threshold = request.score_threshold or None
        faces = [
            face
            for face in self.detector.detect(
                image, threshold, upscale=not request.keep_native_scale
            )
            if min(face.box[2], face.box[3]) >= request.min_face_size
        ]
        faces = order_faces(faces, request.order, image.shape[1], image.shape[0])[:max_faces]
        models = [self.detector.info]
        if request.include_mesh:
            for face in faces:
                face.mesh = self.mesh.landmarks(image, face)
            models.append(self.mesh.info)
        return detection_pb2.DetectResponse(
            faces=[face_to_proto(f, image, request.include_aligned_crops) for f in faces],
            image_width=image.shape[1],
            image_height=image.shape[0],
            models=models,
        )
