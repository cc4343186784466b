"""POST /api/v1/verify: 1:1, two photos (image_a + image_b) or a photo against a stored user."""

from __future__ import annotations

import asyncio
from typing import Annotated, Self

from faceflow.embedding.v1 import embedding_pb2
from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field, model_validator

from gateway.api.deps import ClientsDep, SettingsDep, TenantDep
from gateway.api.params import RouteParams
from gateway.api.params.fields import (
    BLANK_IS_DEFAULT,
    FaceSelectionParam,
    GroupId,
    UserId,
    rejection,
)
from gateway.api.params.uploads import OptionalImageUpload
from gateway.api.recognition_schemas import FaceUsed, UserMatched, VerifyFacesOut, thresholds_of
from gateway.api.schemas import ModelRef, error_responses
from gateway.core.context import envelope
from gateway.orchestration import recognition
from gateway.orchestration.embedding_calls import embedding

router = APIRouter(tags=["recognition"])

TWO_PHOTOS = ("image_a", "image_b")
PHOTO_AND_USER = ("image", "group_id", "user_id")


class VerifyParams(RouteParams):
    """Parameters of /verify: image_a + image_b, or image + group_id + user_id."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": list(TWO_PHOTOS), "properties": {"image": False}},
                {
                    "required": list(PHOTO_AND_USER),
                    "properties": {
                        **{name: False for name in TWO_PHOTOS},
                        **{name: {"type": "string"} for name in PHOTO_AND_USER},
                    },
                },
            ]
        }
    )

    face_selection: FaceSelectionParam = "largest"
    image_a: OptionalImageUpload = Field(default=None, description="the first photo")
    image_b: OptionalImageUpload = Field(default=None, description="the second photo")
    image: OptionalImageUpload = Field(default=None, description="a photo of the stored user")
    group_id: Annotated[GroupId | None, BLANK_IS_DEFAULT] = Field(
        default=None, description="with image + user_id: the user's group"
    )
    user_id: Annotated[UserId | None, BLANK_IS_DEFAULT] = Field(
        default=None, description="with image + group_id: the stored user"
    )

    @model_validator(mode="after")
    def one_form(self) -> Self:
        """Two photos, or a photo and a user; not both, nothing missing."""
        if self.image_a is not None or self.image_b is not None:
            if self.image is not None:
                raise rejection("send image_a + image_b, or image + user_id")
            for name in TWO_PHOTOS:
                if getattr(self, name) is None:
                    raise rejection(f"the field '{name}' (an image) is required")
        elif self.image is None or self.group_id is None or self.user_id is None:
            raise rejection("send image_a and image_b, or image with group_id and user_id")
        return self

    def photos(self) -> dict[str, bytes]:
        """The photos sent, by field name, in the order their faces are compared."""
        named = {"image_a": self.image_a, "image_b": self.image_b, "image": self.image}
        return {name: photo for name, photo in named.items() if photo is not None}

    def stored_user(self) -> embedding_pb2.UserRef | None:
        """The stored user to compare with; None for two photos."""
        if self.image is None or self.group_id is None or self.user_id is None:
            return None
        return embedding_pb2.UserRef(group_id=self.group_id, user_id=self.user_id)


@router.post(
    "/verify",
    response_model=VerifyFacesOut,
    response_model_exclude_none=True,
    responses=error_responses({404: "GROUP_NOT_FOUND or USER_NOT_FOUND"}),
    openapi_extra=VerifyParams.request_body(),
    summary="Verify two faces (1:1)",
)
async def verify(
    request: Request, tenant: TenantDep, clients: ClientsDep, settings: SettingsDep
) -> VerifyFacesOut:
    """Compare the largest face of image_a with that of image_b, or the largest face of
    image with the stored user (group_id, user_id); ``face_selection=center`` uses the face
    nearest each photo's centre instead. Scores are 0-100 (100 * cosine, clipped);
    ``same_person`` applies the FAR 1e-4 threshold."""
    params = await VerifyParams.read(request, settings)
    order = recognition.FACE_SELECTION[params.face_selection]
    photos = params.photos()
    detections = await asyncio.gather(
        *(recognition.detect_with_crops(clients, photo, 1, order) for photo in photos.values())
    )
    faces = [detection.faces[0] for detection in detections]
    user = params.stored_user()
    result = await embedding(clients).verify(
        embedding_pb2.VerifyRequest(
            tenant=tenant.tenant_id,
            a=recognition.crop_probe(faces[0]),
            b=recognition.crop_probe(faces[1]) if user is None else recognition.user_probe(user),
        )
    )
    return VerifyFacesOut(
        score=round(result.score, 2),
        similarity=round(result.similarity, 4),
        same_person=result.same_person,
        thresholds=thresholds_of(result.thresholds),
        faces=[
            FaceUsed.of(photo, face, image=name)
            for (name, photo), face in zip(photos.items(), faces, strict=True)
        ],
        user=None
        if user is None
        else UserMatched(
            group_id=user.group_id, user_id=user.user_id, face_token=result.face_token
        ),
        models=ModelRef.merged(*detections, result),
        **envelope(request),
    )
