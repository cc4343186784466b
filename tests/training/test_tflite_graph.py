"""The TFLite importer: the replayed TensorFlow graph computes what the served TFLite file does.

Inputs are real face crops cut by the detection service's own FaceMesh code (scikit-image's
astronaut, plus LFW faces when ../shared/data is present) and generated images. FaceMesh's
landmarks are pixels of the 192x192 crop (values up to about 190), so a layout or padding
mistake moves them by whole pixels, far beyond the bounds below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from services.shared.runtime import LiteModel
from tests.conftest import SHARED_DATA
from tests.helpers import images
from tests.training.store import prepared_store
from training.compression.calibration import calibration_set
from training.compression.quantize import quantize_store_model
from training.errors import TrainingError
from training.importers.tflite_graph import concrete_function, read_graph

MAX_LANDMARK_DIFF = 1e-3  # crop pixels
MAX_SCORE_DIFF = 1e-3  # face-presence logit


@pytest.fixture(scope="module")
def mesh_inputs(tmp_path_factory: pytest.TempPathFactory) -> NDArray[np.float32]:
    """Real face crops (service code) and generated 192x192 inputs in [0, 1]."""
    store = prepared_store("facemesh", "yunet")
    folder = tmp_path_factory.mktemp("faces")
    Image.fromarray(images.astronaut()).save(folder / "astronaut.png")
    folders = [folder]
    if (SHARED_DATA / "lfw-devtest" / "images").is_dir():
        folders.append(SHARED_DATA / "lfw-devtest" / "images")
    faces = calibration_set("facemesh", folders, limit=4, cache_dir=store.cache_dir)
    rng = np.random.default_rng(0)
    generated = [
        rng.random((192, 192, 3), dtype=np.float32),
        np.zeros((192, 192, 3), np.float32),
        np.broadcast_to(np.linspace(0, 1, 192, dtype=np.float32)[:, None, None], (192, 192, 3)),
    ]
    return np.concatenate([faces, np.stack(generated)])


def _compare(path: Path, inputs: NDArray[np.float32]) -> dict[str, float]:
    """Max |replayed - TFLite| per output name over inputs."""
    lite = LiteModel(path)
    graph = read_graph(path)
    assert list(graph.inputs) == lite.input_names
    assert sorted(graph.outputs) == sorted(lite.output_names)
    function = concrete_function(graph)
    worst = dict.fromkeys(lite.output_names, 0.0)
    for sample in inputs:
        tensor = sample[np.newaxis]
        want = lite.run(**{lite.input_name: tensor})
        got: dict[str, Any] = function(**{lite.input_name: tensor})
        for name, value in want.items():
            replayed = got[name].numpy()
            assert replayed.shape == value.shape
            worst[name] = max(worst[name], float(np.abs(replayed - value).max()))
    return worst


def _check(worst: dict[str, float], points: str) -> None:
    for name, diff in worst.items():
        bound = MAX_LANDMARK_DIFF if name == points else MAX_SCORE_DIFF
        assert diff < bound, f"{name}: max |diff| {diff:.2e} >= {bound}"


def test_replayed_facemesh_matches_the_tflite_file(mesh_inputs: NDArray[np.float32]) -> None:
    store = prepared_store("facemesh")
    worst = _compare(store.open("facemesh").path, mesh_inputs)
    print(f"facemesh replay, {len(mesh_inputs)} inputs, max |diff|: {worst}")
    assert set(worst) == {"conv2d_20", "conv2d_30"}
    _check(worst, "conv2d_20")


def test_float16_weights_are_dequantized(mesh_inputs: NDArray[np.float32], tmp_path: Path) -> None:
    """A float16 file (DEQUANTIZE of float16 weights, one signature) replays as well."""
    store = prepared_store("facemesh")
    path = quantize_store_model("facemesh", ["float16"], tmp_path, None, store)["float16"]
    ops = {op.name for op in read_graph(path).operators}
    assert "DEQUANTIZE" in ops
    _check(_compare(path, mesh_inputs[:3]), "conv2d_20")


def test_unsupported_operator_is_named(tmp_path: Path) -> None:
    import tensorflow as tf

    def net(x: Any) -> Any:
        return tf.nn.softmax(x * 2.0)

    function = tf.function(net).get_concrete_function(tf.TensorSpec((1, 8), tf.float32))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    path = tmp_path / "softmax.tflite"
    path.write_bytes(converter.convert())
    with pytest.raises(TrainingError, match=r"unsupported TFLite operator\(s\) .*SOFTMAX"):
        read_graph(path)


def test_unreadable_file_is_a_training_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.tflite"
    path.write_bytes(b"not a flatbuffer")
    with pytest.raises(TrainingError, match="cannot read TFLite file"):
        read_graph(path)
