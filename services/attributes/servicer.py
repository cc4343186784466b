"""The Analyze RPC: validate, decode, compute only the requested attributes, build the reply."""

from __future__ import annotations

import grpc
import numpy as np
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2
from numpy.typing import NDArray

from services.attributes.age_gender import AgeGenderModels
from services.attributes.settings import AttributesSettings
from services.shared import quality
from services.shared.alignment import align_face
from services.shared.errors import InvalidArgumentError
from services.shared.face_messages import FaceInput, face_from_proto, quality_to_proto
from services.shared.head_pose import estimate_pose
from services.shared.imaging import ImageLimits, decode_image
from services.shared.model_zoo import EmotionModel, ServedModel

Attribute = attributes_pb2.Attribute
KNOWN = (
    Attribute.ATTRIBUTE_AGE,
    Attribute.ATTRIBUTE_GENDER,
    Attribute.ATTRIBUTE_EMOTION,
    Attribute.ATTRIBUTE_POSE,
    Attribute.ATTRIBUTE_QUALITY,
)


class AttributesServicer(attributes_pb2_grpc.AttributesServiceServicer):  # type: ignore[misc]
    """Implements faceflow.attributes.v1.AttributesService."""

    def __init__(
        self,
        settings: AttributesSettings,
        age_gender: AgeGenderModels,
        emotion: EmotionModel,
    ) -> None:
        self.settings = settings
        self.age_gender = age_gender
        self.emotion = emotion
        self.served_models: list[ServedModel] = [*age_gender.served_models, emotion]
        self.limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
        self.min_size: dict[int, int] = {
            Attribute.ATTRIBUTE_AGE: settings.min_face_age,
            Attribute.ATTRIBUTE_GENDER: settings.min_face_gender,
            Attribute.ATTRIBUTE_EMOTION: settings.min_face_emotion,
        }

    def close(self) -> None:
        """Nothing to release: the models live as long as the process."""

    def _requested(self, request: attributes_pb2.AnalyzeRequest) -> list[int]:
        if not request.attributes:
            raise InvalidArgumentError("attributes: ask for at least one attribute")
        unknown = [value for value in request.attributes if value not in KNOWN]
        if unknown:
            raise InvalidArgumentError(
                f"attributes: unknown value(s) {unknown}; known: "
                + ", ".join(Attribute.Name(v) for v in KNOWN)
            )
        if not request.faces:
            raise InvalidArgumentError("faces: at least one face is required")
        if len(request.faces) > self.settings.max_faces:
            raise InvalidArgumentError(
                f"faces: {len(request.faces)} faces; the limit is {self.settings.max_faces}"
            )
        return [value for value in KNOWN if value in request.attributes]

    def Analyze(  # noqa: N802 (gRPC method name)
        self, request: attributes_pb2.AnalyzeRequest, context: grpc.ServicerContext
    ) -> attributes_pb2.AnalyzeResponse:
        requested = self._requested(request)
        image = decode_image(request.image.data, self.limits)
        height, width = image.shape[:2]
        faces = [
            face_from_proto(f, f"faces[{i}]", (width, height)) for i, f in enumerate(request.faces)
        ]
        used: set[int] = set()
        results = [self._analyze(image, face, requested, used) for face in faces]
        return attributes_pb2.AnalyzeResponse(faces=results, models=self._models_used(used))

    def _models_used(self, used: set[int]) -> list[common_pb2.ModelInfo]:
        """The models behind the attributes computed for at least one face."""
        models = self.age_gender.models_for(
            Attribute.ATTRIBUTE_AGE in used, Attribute.ATTRIBUTE_GENDER in used
        )
        if Attribute.ATTRIBUTE_EMOTION in used:
            models.append(self.emotion.info)
        return models

    def _analyze(
        self, image: NDArray[np.uint8], face: FaceInput, requested: list[int], used: set[int]
    ) -> attributes_pb2.FaceAttributes:
        result = attributes_pb2.FaceAttributes()
        available = []
        for attribute in requested:
            needed = self.min_size.get(attribute, 0)
            if face.size < needed:
                result.unavailable.add(
                    attribute=attribute,
                    reason=f"the face is {face.size:.0f} px on its shorter side; the "
                    f"{Attribute.Name(attribute)[10:].lower()} model needs at least {needed} px",
                )
            else:
                available.append(attribute)
        # age and gender together: one embedding, one face-api run or one chip per dlib network
        estimates = self.age_gender.estimate(
            image,
            face,
            age=Attribute.ATTRIBUTE_AGE in available,
            gender=Attribute.ATTRIBUTE_GENDER in available,
        )
        for attribute in available:
            if attribute == Attribute.ATTRIBUTE_AGE:
                age = estimates.age
                if age is not None:
                    result.age.CopyFrom(
                        attributes_pb2.Age(value=age.value, low=age.low, high=age.high)
                    )
            elif attribute == Attribute.ATTRIBUTE_GENDER:
                gender = estimates.gender
                if gender is not None:
                    result.gender.CopyFrom(
                        attributes_pb2.Gender(label=gender.label, probability=gender.probability)
                    )
            elif attribute == Attribute.ATTRIBUTE_EMOTION:
                scores = self.emotion.predict(image, face.box)
                result.emotion.CopyFrom(
                    attributes_pb2.Emotion(
                        scores=[
                            attributes_pb2.EmotionScore(label=k, probability=v)
                            for k, v in scores.items()
                        ],
                        dominant=max(scores, key=lambda k: scores[k]),
                    )
                )
            elif attribute == Attribute.ATTRIBUTE_POSE:
                pose = estimate_pose(face.landmarks, face.mesh, (image.shape[1], image.shape[0]))
                result.pose.CopyFrom(
                    attributes_pb2.Pose(
                        yaw=pose.yaw, pitch=pose.pitch, roll=pose.roll, source=pose.source
                    )
                )
            else:
                result.quality.CopyFrom(quality_message(image, face))
            used.add(attribute)
        return result


def quality_message(image: NDArray[np.uint8], face: FaceInput) -> common_pb2.Quality:
    """Enrollment's quality measures, plus eyes/mouth open when the mesh is there."""
    crop = align_face(image, face.landmarks)
    report = quality.assess_quality(crop, (float(face.box[2]), float(face.box[3])), face.landmarks)
    message = quality_to_proto(report)
    if face.mesh is not None:
        eyes = quality.eyes_open_score(face.mesh)
        message.eyes_open = eyes
        message.mouth_open = quality.mouth_open_score(face.mesh)
        message.score = quality.score_with_eyes(report.score, eyes)
    return message
