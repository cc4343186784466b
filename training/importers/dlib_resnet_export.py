"""Model-store conversion for dlib's ResNet face descriptor: dlib .dat -> Keras -> TFLite.

Named in models/dlib_resnet.toml as ``python:training.importers.dlib_resnet_export:export``: it
takes the verified ``dlib_face_recognition_resnet_model_v1.dat`` and a scratch folder and
returns the TFLite file. dlib is never imported (training/importers/dlib_resnet.py reads the
file). The TFLite model has one signature: input ``image_rgb`` (1, 150, 150, 3) float32 RGB
0-255, a dlib-style 150x150 face chip (padding 0.25); output ``embedding`` (1, 128), the
L2-normalised descriptor. Parity with dlib itself: tests/training/test_dlib_resnet_parity.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from training.export import keras_to_tflite
from training.importers.dlib_resnet import load
from training.models.dlib_resnet import OUTPUT_NAME, build_dlib_resnet

log = logging.getLogger(__name__)

OUTPUT_FILE = "dlib_resnet_v1.tflite"


def keras_model_from_dat(source: Path, normalize: bool = True) -> Any:
    """The Keras network with the file's weights (batch 1, input ``image_rgb``)."""
    return build_dlib_resnet(load(source), normalize=normalize)


def tflite_bytes(model: Any) -> bytes:
    """Float32 TFLite flatbuffer with one signature whose output is named ``embedding``."""
    import keras

    named = keras.Model(model.inputs, {OUTPUT_NAME: model.outputs[0]}, name=model.name)
    return keras_to_tflite(named)


def export(source: Path, workdir: Path) -> Path:
    """dlib_face_recognition_resnet_model_v1.dat -> ``dlib_resnet_v1.tflite``."""
    target = workdir / OUTPUT_FILE
    target.write_bytes(tflite_bytes(keras_model_from_dat(source)))
    return target
