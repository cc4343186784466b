"""Attribute latency: one face, every field (age, gender, emotion, pose, quality).

Prints p50/p95 of
- model time: the networks alone on ready crops/chips (target: every field < 10 ms together),
  for the age/gender setups, taken in turns: the head on the SFace embedding (SFace on the
  112x112 aligned crop + the head), dlib's age-v1 + gender-v1 on their chips, the head for age
  with gender-v1, and face-api's age/gender network (one run for both) on its 112x112 crop;
- each attribute through the service's code (crop + model + post-processing, or pose / quality);
- one Analyze RPC with every field over a real gRPC channel (image decode included).
The photo is ../shared/data's first people photo when present, else scikit-image's astronaut.

    .venv/bin/python bench/attributes.py [--runs 200]
"""

from __future__ import annotations

import argparse

import cv2
import grpc
import numpy as np
from faceflow.attributes.v1 import attributes_pb2, attributes_pb2_grpc
from faceflow.common.v1 import common_pb2

from bench.common import jpeg, measure, measure_interleaved, real_photo, summary
from services.attributes.age_gender import EmbeddingHead
from services.attributes.server import create_app
from services.attributes.servicer import quality_message
from services.attributes.settings import AttributesSettings
from services.shared.alignment import align_face
from services.shared.face_messages import FaceInput, face_to_proto
from services.shared.head_pose import estimate_pose
from services.shared.model_store import ModelStore
from services.shared.model_zoo import (
    AgeGenderHead,
    AgeModel,
    EmotionModel,
    FaceApiAgeGender,
    FaceMesh,
    GenderModel,
    SFace,
    YuNetDetector,
)
from services.shared.model_zoo.age import AGE_CHIP_SIZE
from services.shared.model_zoo.face_chips import emotion_crop, extract_face_chip, faceapi_crop
from services.shared.model_zoo.gender import GENDER_CHIP_SIZE

A = attributes_pb2.Attribute
EVERY = [
    A.ATTRIBUTE_AGE,
    A.ATTRIBUTE_GENDER,
    A.ATTRIBUTE_EMOTION,
    A.ATTRIBUTE_POSE,
    A.ATTRIBUTE_QUALITY,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    store = ModelStore()
    image = real_photo()
    detector = YuNetDetector.from_store(store, "yunet")
    face = max(detector.detect(image), key=lambda f: f.area)
    face.mesh = FaceMesh.from_store(store, "facemesh").landmarks(image, face)
    height, width = image.shape[:2]
    print(f"photo {width}x{height}, face box {face.box[2]:.0f}x{face.box[3]:.0f} px, {runs} runs")

    settings = AttributesSettings(port=0)
    app, servicer = create_app(settings, store)
    port = app.start(0)
    app.mark_serving()
    try:
        emotion = EmotionModel.from_store(store, settings.emotion_model)
        head = EmbeddingHead(
            SFace.from_store(store, settings.embedding_model),
            AgeGenderHead.from_store(store, settings.age_gender_head),
        )
        age_model = AgeModel.from_store(store, settings.age_model)
        gender_model = GenderModel.from_store(store, settings.gender_model)
        faceapi = FaceApiAgeGender.from_store(store, settings.faceapi_model)
        crop = align_face(image, face.landmarks)
        faceapi_input = faceapi_crop(image, face.box)
        age_chip = extract_face_chip(image, face.landmarks, AGE_CHIP_SIZE)
        gender_chip = extract_face_chip(image, face.landmarks, GENDER_CHIP_SIZE)
        grey = emotion_crop(image, face.box)
        networks = measure_interleaved(
            {
                "SFace + head + emotion": lambda: (
                    head.head.outputs(head.embedder.embed(crop)[0]),
                    emotion.probabilities(grey),
                ),
                "age-v1 + gender-v1 + emotion": lambda: (
                    age_model.probabilities(age_chip),
                    gender_model.probabilities(gender_chip),
                    emotion.probabilities(grey),
                ),
                "SFace + head + gender-v1 + emotion": lambda: (
                    head.head.outputs(head.embedder.embed(crop)[0]),
                    gender_model.probabilities(gender_chip),
                    emotion.probabilities(grey),
                ),
                "face-api + emotion": lambda: (
                    faceapi.outputs(faceapi_input),
                    emotion.probabilities(grey),
                ),
                "  SFace alone": lambda: head.embedder.embed(crop),
                "  head alone": lambda: head.head.outputs(
                    np.zeros(head.head.dimension, np.float32)
                ),
            },
            runs,
            block=5,
        )
        for title, timings in networks.items():
            print(f"model time, {title:30s}{summary(timings)}")
        face_input = FaceInput(face.box, face.landmarks, face.mesh)
        steps = {
            "age + gender, head (align + SFace + head)": lambda: head.predict(
                image, face.landmarks
            ),
            "age, dlib (chip + model)": lambda: age_model.predict(image, face.landmarks),
            "gender, dlib (chip + model)": lambda: gender_model.predict(image, face.landmarks),
            "age + gender, face-api (crop + model)": lambda: faceapi.predict(image, face.box),
            "age + gender as configured": lambda: servicer.age_gender.estimate(
                image, face_input, age=True, gender=True
            ),
            "emotion (crop + model)": lambda: emotion.predict(image, face.box),
            "pose (mesh, solvePnP)": lambda: estimate_pose(
                face.landmarks, face.mesh, (width, height)
            ),
            "quality (align + measures)": lambda: quality_message(image, face_input),
        }
        for title, step in steps.items():
            print(f"{title:42s}{summary(measure(step, runs))}")
        stub = attributes_pb2_grpc.AttributesServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        request = attributes_pb2.AnalyzeRequest(
            image=common_pb2.Image(data=jpeg(image)),
            faces=[face_to_proto(face, image, with_crop=False)],
            attributes=EVERY,
        )
        rpc = measure(lambda: stub.Analyze(request, timeout=10), runs)
        models = ", ".join(m.info.name for m in servicer.served_models)
        print(f"Analyze RPC, every field ({models}) {summary(rpc)}")
        for title in (
            "SFace + head + emotion",
            "age-v1 + gender-v1 + emotion",
            "SFace + head + gender-v1 + emotion",
            "face-api + emotion",
        ):
            p50 = np.percentile(networks[title], 50)
            print(f"model-time target < 10 ms, {title}: p50 {p50:.2f} ms")
        # A selfie-sized face: the dlib-exact chips build an image pyramid of the face region.
        big = np.asarray(cv2.resize(image, (width * 4, height * 4)), dtype=np.uint8)
        big_face = max(detector.detect(big), key=lambda f: f.area)
        print(f"large face ({big_face.box[2]:.0f} px wide in a {width * 4}x{height * 4} photo):")
        for title, step in {
            "age + gender, head": lambda: head.predict(big, big_face.landmarks),
            "age, dlib": lambda: age_model.predict(big, big_face.landmarks),
            "gender, dlib": lambda: gender_model.predict(big, big_face.landmarks),
            "age + gender, face-api": lambda: faceapi.predict(big, big_face.box),
            "emotion (crop + model)": lambda: emotion.predict(big, big_face.box),
        }.items():
            print(f"  {title:28s}{summary(measure(step, max(10, runs // 4)))}")
    finally:
        app.stop(grace=1.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
