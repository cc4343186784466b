"""Model-store conversion for face-api's age/gender network: TFJS weights -> Keras -> TFLite.

Named in models/faceapi_age_gender.toml as ``python:training.importers.faceapi_age_gender:export``:
it takes the verified npm tarball of ``@vladmandic/face-api`` (MIT) and a scratch folder and
returns the TFLite file. No JavaScript is run: the package ships the network as a TFJS weights
manifest (``model/age_gender_model-weights_manifest.json``: name, shape, dtype and uint8
quantisation ``min``/``scale`` of each tensor) plus one shard (``model/age_gender_model.bin``),
read here with numpy exactly as ``tf.io.decodeWeights`` reads them (``q * scale + min`` in double
precision, stored as float32). There is no model-topology JSON: the architecture is code
(``src/xception/TinyXception.ts`` with two main blocks, ``src/ageGenderNet/AgeGenderNet.ts``),
rebuilt here layer by layer:

- input: (1, 112, 112, 3) float32 **RGB 0-255**, the face crop face-api makes
  (:func:`services.shared.model_zoo.face_chips.faceapi_crop`); inside the model
  ``(x - (122.782, 117.001, 104.298)) / 255`` as face-api's ``normalize(...).div(255)``;
- ``entry_flow/conv_in``: 3x3 convolution, stride 2, ``same``, bias, ReLU;
- reduction blocks: [ReLU] -> separable 3x3 -> ReLU -> separable 3x3 -> max pool 3x3 stride 2
  ``same``, plus a 1x1 stride-2 convolution of the block input (the first block has no input
  ReLU); main blocks: three (ReLU -> separable 3x3) plus the block input;
- ``exit_flow/separable_conv`` (256 -> 512) and ReLU, a 7x7 average pool (stride 2, ``valid``:
  one value per channel), then two dense heads: ``age`` (years, a regression) and ``gender``
  (softmax over **(male, female)**, face-api's order).

TFJS's ``same`` padding, separable convolution (depthwise then pointwise, then the bias) and
weight layouts (HWIO kernels, (3, 3, C, 1) depthwise, (in, out) dense) are TensorFlow's, so
the weights go into Keras unchanged. Outputs of the TFLite signature: ``age`` (1, 1) and
``gender`` (1, 2). Parity with face-api on TFJS itself: tests/training/test_faceapi_parity.py.
"""

from __future__ import annotations

import json
import logging
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from training.errors import TrainingError
from training.export import keras_to_tflite

log = logging.getLogger(__name__)

INPUT_NAME = "image_rgb"
AGE_OUTPUT = "age"
GENDER_OUTPUT = "gender"
INPUT_SIZE = 112
# TinyXception.forwardInput: normalize(batch, meanRgb).div(255)
MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_SCALE = 255.0
MAIN_BLOCKS = 2  # AgeGenderNet builds TinyXception(2)
OUTPUT_FILE = "faceapi_age_gender.tflite"
MODEL_FOLDER = "package/model"
WEIGHTS_MANIFEST = "age_gender_model-weights_manifest.json"

# tf.io.decodeWeights: bytes per value of each stored dtype
_STORED = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "uint16": "<u2", "float16": "<f2"}


def decode_weights(manifest: list[dict[str, Any]], shards: dict[str, bytes]) -> dict[str, Any]:
    """The named float32 arrays of a TFJS weights manifest, as ``tf.io.decodeWeights`` makes them.

    ``shards`` maps each ``paths`` entry of the manifest to its bytes. Values are packed one
    tensor after another with no alignment; a uint8/uint16-quantised float32 tensor stores
    ``q`` and means ``q * scale + min``; a float16 one is widened. TrainingError names the tensor
    when the bytes run out, are left over, or use a dtype this reader does not know.
    """
    weights: dict[str, NDArray[np.float32]] = {}
    for group in manifest:
        try:
            data = b"".join(shards[path] for path in group["paths"])
        except KeyError as error:
            raise TrainingError(f"TFJS weights: shard {error} is missing") from None
        offset = 0
        for spec in group["weights"]:
            name, shape, dtype = spec["name"], tuple(int(v) for v in spec["shape"]), spec["dtype"]
            quantization = spec.get("quantization")
            stored = quantization["dtype"] if quantization else dtype
            if dtype != "float32" or stored not in _STORED or stored == "int32":
                raise TrainingError(
                    f"TFJS weights: {name} is {dtype} stored as {stored}; only float32 tensors "
                    "(plain, or quantised to uint8/uint16/float16) are supported"
                )
            count = int(np.prod(shape, dtype=np.int64))
            size = count * np.dtype(_STORED[stored]).itemsize
            if offset + size > len(data):
                raise TrainingError(
                    f"TFJS weights: {name} needs bytes {offset}-{offset + size} of a "
                    f"{len(data)}-byte shard"
                )
            raw = np.frombuffer(data, dtype=_STORED[stored], count=count, offset=offset)
            offset += size
            if stored in ("uint8", "uint16") and quantization is not None:
                scale, low = float(quantization["scale"]), float(quantization["min"])
                values = (raw.astype(np.float64) * scale + low).astype(np.float32)
            else:
                values = raw.astype(np.float32)
            weights[name] = values.reshape(shape)
        if offset != len(data):
            raise TrainingError(
                f"TFJS weights: {len(data) - offset} bytes left over after {group['paths']}"
            )
    return weights


def read_tarball(source: Path) -> dict[str, Any]:
    """The age/gender weights from face-api's npm tarball (``package/model/...``)."""
    try:
        with tarfile.open(source, "r:gz") as archive:

            def member(name: str) -> bytes:
                handle = archive.extractfile(f"{MODEL_FOLDER}/{name}")
                if handle is None:
                    raise KeyError(name)
                return handle.read()

            manifest = json.loads(member(WEIGHTS_MANIFEST))
            paths = {path for group in manifest for path in group["paths"]}
            shards = {path: member(path) for path in paths}
    except (tarfile.TarError, OSError) as error:
        raise TrainingError(f"{source} is not a readable npm tarball: {error}") from error
    except KeyError as error:
        raise TrainingError(f"{source} has no {MODEL_FOLDER}/{error.args[0]}") from error
    return decode_weights(manifest, shards)


class _Weights:
    """The decoded tensors, taken by name once each (a missing or unused one is an error)."""

    def __init__(self, weights: dict[str, Any]) -> None:
        self.weights = weights
        self.used: set[str] = set()

    def take(self, name: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
        if name not in self.weights:
            raise TrainingError(f"face-api age/gender weights: {name} is missing")
        value = np.asarray(self.weights[name], dtype=np.float32)
        if value.shape != shape:
            raise TrainingError(
                f"face-api age/gender weights: {name} is {value.shape}, not {shape}"
            )
        self.used.add(name)
        return value

    def check_all_used(self) -> None:
        unused = sorted(set(self.weights) - self.used)
        if unused:
            raise TrainingError(f"face-api age/gender weights not used: {', '.join(unused)}")


def _layer_name(prefix: str) -> str:
    return prefix.replace("/", ".")


def _conv(x: Any, weights: _Weights, prefix: str, channels: int, size: int, stride: int) -> Any:
    """``conv`` of TinyXception.ts: convolution (``same``) plus bias."""
    import keras

    inputs = int(x.shape[-1])
    kernel = weights.take(f"{prefix}/filters", (size, size, inputs, channels))
    bias = weights.take(f"{prefix}/bias", (channels,))
    layer = keras.layers.Conv2D(
        channels, size, strides=stride, padding="same", name=_layer_name(prefix)
    )
    output = layer(x)
    layer.set_weights([kernel, bias])
    return output


def _separable(x: Any, weights: _Weights, prefix: str, channels: int) -> Any:
    """``depthwiseSeparableConv``: 3x3 depthwise, 1x1 pointwise (``same``, stride 1), bias."""
    import keras

    inputs = int(x.shape[-1])
    depthwise = weights.take(f"{prefix}/depthwise_filter", (3, 3, inputs, 1))
    pointwise = weights.take(f"{prefix}/pointwise_filter", (1, 1, inputs, channels))
    bias = weights.take(f"{prefix}/bias", (channels,))
    layer = keras.layers.SeparableConv2D(channels, 3, padding="same", name=_layer_name(prefix))
    output = layer(x)
    layer.set_weights([depthwise, pointwise, bias])
    return output


def _relu(x: Any, name: str) -> Any:
    import keras

    return keras.layers.ReLU(name=_layer_name(name))(x)


def _reduction_block(
    x: Any, weights: _Weights, prefix: str, channels: int, activate_input: bool = True
) -> Any:
    import keras

    out = _relu(x, f"{prefix}/relu_in") if activate_input else x
    out = _separable(out, weights, f"{prefix}/separable_conv0", channels)
    out = _separable(_relu(out, f"{prefix}/relu0"), weights, f"{prefix}/separable_conv1", channels)
    out = keras.layers.MaxPooling2D(3, 2, padding="same", name=_layer_name(f"{prefix}/pool"))(out)
    expansion = _conv(x, weights, f"{prefix}/expansion_conv", channels, 1, 2)
    return keras.layers.Add(name=_layer_name(f"{prefix}/add"))([out, expansion])


def _main_block(x: Any, weights: _Weights, prefix: str) -> Any:
    import keras

    channels = int(x.shape[-1])
    out = x
    for index in range(3):
        out = _relu(out, f"{prefix}/relu{index}")
        out = _separable(out, weights, f"{prefix}/separable_conv{index}", channels)
    return keras.layers.Add(name=_layer_name(f"{prefix}/add"))([out, x])


def _dense(x: Any, weights: _Weights, prefix: str, units: int) -> Any:
    import keras

    kernel = weights.take(f"{prefix}/weights", (int(x.shape[-1]), units))
    bias = weights.take(f"{prefix}/bias", (units,))
    layer = keras.layers.Dense(units, name=_layer_name(prefix))
    output = layer(x)
    layer.set_weights([kernel, bias])
    return output


def build_model(decoded: dict[str, Any]) -> Any:
    """The Keras AgeGenderNet with these weights: ``image_rgb`` -> {``age``, ``gender``}."""
    import keras

    weights = _Weights(decoded)
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), batch_size=1, name=INPUT_NAME)
    x = keras.layers.Normalization(
        axis=-1, mean=list(MEAN_RGB), variance=[INPUT_SCALE**2] * 3, name="normalize"
    )(inputs)
    x = _relu(_conv(x, weights, "entry_flow/conv_in", 32, 3, 2), "entry_flow/conv_in_relu")
    x = _reduction_block(x, weights, "entry_flow/reduction_block_0", 64, activate_input=False)
    x = _reduction_block(x, weights, "entry_flow/reduction_block_1", 128)
    for index in range(MAIN_BLOCKS):
        x = _main_block(x, weights, f"middle_flow/main_block_{index}")
    x = _reduction_block(x, weights, "exit_flow/reduction_block", 256)
    x = _relu(_separable(x, weights, "exit_flow/separable_conv", 512), "exit_flow/relu")
    x = keras.layers.AveragePooling2D(7, 2, padding="valid", name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    age = _dense(x, weights, "fc/age", 1)
    gender = keras.layers.Softmax(name="gender_softmax")(_dense(x, weights, "fc/gender", 2))
    weights.check_all_used()
    return keras.Model(inputs, {AGE_OUTPUT: age, GENDER_OUTPUT: gender}, name="faceapi_age_gender")


def keras_model_from_tarball(source: Path) -> Any:
    """The Keras network with the weights of face-api's npm tarball."""
    return build_model(read_tarball(source))


def tflite_bytes(model: Any) -> bytes:
    """Float32 TFLite flatbuffer with one signature (outputs ``age`` and ``gender``)."""
    return keras_to_tflite(model)


def export(source: Path, workdir: Path) -> Path:
    """``@vladmandic/face-api`` npm tarball -> ``faceapi_age_gender.tflite``."""
    target = workdir / OUTPUT_FILE
    target.write_bytes(tflite_bytes(keras_model_from_tarball(source)))
    return target
