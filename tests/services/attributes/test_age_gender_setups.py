"""The attributes service's age/gender sources over real gRPC: the head on the SFace embedding
(computed from the same aligned crop the embedding service embeds), dlib's age-v1 / gender-v1,
face-api's network on its crop of the box, and the default mix (age from the head, gender from
dlib), each selected only by settings; a head paired with the wrong embedder, a model of the
wrong task or bad head parameters are start-up errors naming them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2

from services.attributes.age_gender import AgeGenderModels, build_age_gender
from services.attributes.server import create_app
from services.attributes.settings import AttributesSettings
from services.shared.alignment import align_face
from services.shared.errors import ModelUnavailableError
from services.shared.face_messages import face_to_proto
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo import (
    AgeGenderHead,
    FaceApiAgeGender,
    GenderModel,
    SFace,
    YuNetDetector,
)
from tests.helpers import images

A = attributes_pb2.Attribute


def _serve(settings: AttributesSettings, store: ModelStore) -> Iterator[str]:
    app, _ = create_app(settings, store)
    port = app.start(0)
    app.mark_serving()
    yield f"127.0.0.1:{port}"
    app.stop(grace=1.0)


@pytest.fixture(scope="module")
def head_address(model_store: ModelStore) -> Iterator[str]:
    """Both attributes from the head (FACEFLOW_ATTRIBUTES_GENDER_FROM=head)."""
    settings = AttributesSettings(port=0, max_workers=2, age_from="head", gender_from="head")
    yield from _serve(settings, model_store)


@pytest.fixture(scope="module")
def mixed_address(model_store: ModelStore) -> Iterator[str]:
    """Age from the head, gender from dlib (FACEFLOW_ATTRIBUTES_AGE_FROM=head)."""
    settings = AttributesSettings(port=0, max_workers=2, age_from="head")
    yield from _serve(settings, model_store)


@pytest.fixture(scope="module")
def dlib_address(model_store: ModelStore) -> Iterator[str]:
    """Both attributes from dlib's networks (FACEFLOW_ATTRIBUTES_AGE_FROM=dlib)."""
    settings = AttributesSettings(port=0, max_workers=2, age_from="dlib", gender_from="dlib")
    yield from _serve(settings, model_store)


@pytest.fixture(scope="module")
def faceapi_address(model_store: ModelStore) -> Iterator[str]:
    """Both attributes from face-api's network (FACEFLOW_ATTRIBUTES_AGE_FROM=faceapi)."""
    settings = AttributesSettings(port=0, max_workers=2, age_from="faceapi", gender_from="faceapi")
    yield from _serve(settings, model_store)


def _analyze(address: str, attributes: list[Any]) -> attributes_pb2.AnalyzeResponse:
    data = images.astronaut_jpeg()
    image = decode_image(data)
    faces = YuNetDetector.from_store(ModelStore(), "yunet").detect(image)
    request = attributes_pb2.AnalyzeRequest(
        image=common_pb2.Image(data=data),
        faces=[face_to_proto(faces[0], image, with_crop=False)],
        attributes=attributes,
    )
    with grpc.insecure_channel(address) as channel:
        reply: attributes_pb2.AnalyzeResponse = attributes_pb2_grpc.AttributesServiceStub(
            channel
        ).Analyze(request, timeout=20)
    return reply


def _expected_from_head(store: ModelStore) -> tuple[float, float, float, str, float]:
    """What the zoo computes on the crop the detection service hands the embedding service."""
    image = decode_image(images.astronaut_jpeg())
    face = YuNetDetector.from_store(store, "yunet").detect(image)[0]
    vector = SFace.from_store(store, "sface").embed(align_face(image, face.landmarks))[0]
    result = AgeGenderHead.from_store(store, "age_gender_sface").predict(vector)
    age, gender = result.age, result.gender
    return age.value, age.low, age.high, gender.label, gender.probability


def test_head_answers_what_the_zoo_computes_on_the_embedding_crop(
    head_address: str, model_store: ModelStore
) -> None:
    reply = _analyze(head_address, [A.ATTRIBUTE_AGE, A.ATTRIBUTE_GENDER])
    assert [(m.name, m.version) for m in reply.models] == [
        ("sface", "2021dec"),
        ("age_gender_sface", "utk22k-1"),
    ]
    value, low, high, label, probability = _expected_from_head(model_store)
    answer = reply.faces[0]
    assert answer.age.value == pytest.approx(value, abs=0.05)
    assert (answer.age.low, answer.age.high) == (low, high)
    assert answer.age.low <= answer.age.value <= answer.age.high
    # Eileen Collins, photographed in her late thirties
    assert 30 <= answer.age.value <= 48
    assert answer.gender.label == label == "female"
    assert answer.gender.probability == pytest.approx(probability, abs=1e-4)
    only_gender = _analyze(head_address, [A.ATTRIBUTE_GENDER])
    assert [m.name for m in only_gender.models] == ["sface", "age_gender_sface"]
    assert only_gender.faces[0].HasField("gender") and not only_gender.faces[0].HasField("age")


def test_head_for_age_and_dlib_for_gender(mixed_address: str, model_store: ModelStore) -> None:
    reply = _analyze(mixed_address, [A.ATTRIBUTE_AGE, A.ATTRIBUTE_GENDER])
    assert [(m.name, m.version) for m in reply.models] == [
        ("sface", "2021dec"),
        ("age_gender_sface", "utk22k-1"),
        ("gender", "dlib-v1"),
    ]
    value, _, _, _, _ = _expected_from_head(model_store)
    assert reply.faces[0].age.value == pytest.approx(value, abs=0.05)
    image = decode_image(images.astronaut_jpeg())
    face = YuNetDetector.from_store(model_store, "yunet").detect(image)[0]
    gender = GenderModel.from_store(model_store, "gender").predict(image, face.landmarks)
    assert reply.faces[0].gender.label == gender.label == "female"
    assert reply.faces[0].gender.probability == pytest.approx(gender.probability, abs=1e-4)
    only_gender = _analyze(mixed_address, [A.ATTRIBUTE_GENDER])
    assert [m.name for m in only_gender.models] == ["gender"]


def test_faceapi_answers_what_the_zoo_computes_on_its_crop(
    faceapi_address: str, model_store: ModelStore
) -> None:
    reply = _analyze(faceapi_address, [A.ATTRIBUTE_AGE, A.ATTRIBUTE_GENDER])
    assert [(m.name, m.version) for m in reply.models] == [("faceapi_age_gender", "1.7.15")]
    image = decode_image(images.astronaut_jpeg())
    face = YuNetDetector.from_store(model_store, "yunet").detect(image)[0]
    expected = FaceApiAgeGender.from_store(model_store, "faceapi_age_gender").predict(
        image, face.box
    )
    answer = reply.faces[0]
    assert answer.age.value == pytest.approx(expected.age.value, abs=0.05)
    assert answer.age.low == pytest.approx(expected.age.low, abs=0.05)
    assert answer.age.high == pytest.approx(expected.age.high, abs=0.05)
    assert 25 <= answer.age.value <= 48  # Eileen Collins, photographed in her late thirties
    assert answer.gender.label == expected.gender.label == "female"
    assert answer.gender.probability == pytest.approx(expected.gender.probability, abs=1e-4)
    only_age = _analyze(faceapi_address, [A.ATTRIBUTE_AGE])
    assert [m.name for m in only_age.models] == ["faceapi_age_gender"]
    assert only_age.faces[0].HasField("age") and not only_age.faces[0].HasField("gender")


def test_faceapi_needs_its_model() -> None:
    with pytest.raises(ModelUnavailableError) as caught:
        AgeGenderModels("faceapi", "faceapi")
    assert str(caught.value) == "age/gender configuration needs the face-api model"


def test_dlib_is_the_default() -> None:
    settings = AttributesSettings()
    assert (settings.age_from, settings.gender_from) == ("dlib", "dlib")


def test_dlib_networks_by_configuration(dlib_address: str) -> None:
    reply = _analyze(dlib_address, [A.ATTRIBUTE_AGE, A.ATTRIBUTE_GENDER, A.ATTRIBUTE_EMOTION])
    assert [(m.name, m.version) for m in reply.models] == [
        ("age", "dlib-v1"),
        ("gender", "dlib-v1"),
        ("emotion_fer2013", "fer2013-1"),
    ]
    answer = reply.faces[0]
    assert 20 <= answer.age.value <= 45 and answer.age.low <= answer.age.value <= answer.age.high
    assert answer.gender.label == "female"
    assert [m.name for m in _analyze(dlib_address, [A.ATTRIBUTE_AGE]).models] == ["age"]


def test_only_the_configured_models_are_loaded(model_store: ModelStore) -> None:
    def loaded(settings: AttributesSettings) -> list[str]:
        models = build_age_gender(settings, model_store)
        return [m.info.name for m in models.served_models]

    assert loaded(AttributesSettings()) == ["age", "gender"]
    assert loaded(AttributesSettings(age_from="head")) == ["sface", "age_gender_sface", "gender"]
    assert loaded(AttributesSettings(age_from="dlib", gender_from="dlib")) == ["age", "gender"]
    assert loaded(AttributesSettings(age_from="head", gender_from="head")) == [
        "sface",
        "age_gender_sface",
    ]
    assert loaded(AttributesSettings(age_from="faceapi", gender_from="faceapi")) == [
        "faceapi_age_gender"
    ]
    assert loaded(AttributesSettings(age_from="faceapi")) == ["gender", "faceapi_age_gender"]


def test_a_model_of_another_task_is_refused_at_start(model_store: ModelStore) -> None:
    with pytest.raises(ModelUnavailableError) as caught:
        build_age_gender(AttributesSettings(age_from="head", age_gender_head="gender"), model_store)
    assert str(caught.value) == (
        "model 'gender' is a 'gender' model; AgeGenderHead serves 'age-gender-head' models"
    )


def _store_with_head_params(model_store: ModelStore, **params: object) -> ModelStore:
    spec = model_store.spec("age_gender_sface")
    changed = dataclasses.replace(spec, params={**spec.params, **params})
    return ModelStore(model_store.cache_dir, {**model_store.manifest, spec.name: changed})


def test_a_head_for_another_embedder_is_refused_at_start(model_store: ModelStore) -> None:
    store = _store_with_head_params(model_store, embedding_version="2022other")
    with pytest.raises(ModelUnavailableError) as caught:
        build_age_gender(AttributesSettings(age_from="head"), store)
    assert str(caught.value) == (
        "age_gender_sface-utk22k-1 was trained on sface-2022other embeddings, "
        "not on sface-2021dec's"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"gender_labels": ["male", "female"]},
            "models/age_gender_sface.toml params.gender_labels must be ['female', 'male'] "
            "(the order the service reports), got ['male', 'female']",
        ),
        (
            {"age_interval": 1.5},
            "models/age_gender_sface.toml params.age_interval must be in [0.05, 0.99], got 1.5",
        ),
        (
            {"embedding_model": ""},
            "models/age_gender_sface.toml params.embedding_model must be a model name, got ''",
        ),
    ],
)
def test_bad_head_params_are_a_startup_error(
    model_store: ModelStore, params: dict[str, object], message: str
) -> None:
    store = _store_with_head_params(model_store, **params)
    with pytest.raises(ModelUnavailableError) as caught:
        AgeGenderHead.from_store(store, "age_gender_sface")
    assert str(caught.value) == message
