"""float16 / int8 MiniFASNet and FaceMesh are drop-ins for the served float files.

MiniFASNet is quantized from the Keras rebuild of the verified .pth, FaceMesh from the graph
replayed out of face_landmark.tflite. Calibration and test inputs are real faces cut by the
services' own code (scikit-image's astronaut; the liveness samples and LFW faces when
../shared/data is present). Needs the prepared store models; skips with a reason otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from services.shared.model_zoo.minifasnet import REAL_CLASS, softmax
from services.shared.runtime import LiteModel
from tests.conftest import SHARED_DATA
from tests.helpers import images
from tests.training.store import prepared_store
from training.compression.calibration import calibration_set
from training.compression.quantize import quantize_store_model

# Bounds per mode: (max |real-class probability diff|, mean |diff|) for MiniFASNet and
# (max, mean landmark distance in 192x192 crop pixels) for FaceMesh. A quantization that feeds
# the wrong range or drops weights moves probabilities by ~0.5 and landmarks by tens of pixels.
LIVENESS_BOUNDS = {"float16": (0.02, 0.01), "int8": (0.25, 0.12)}
MESH_BOUNDS = {"float16": (0.2, 0.05), "int8": (12.0, 3.0)}


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The astronaut, plus the liveness samples and LFW photos when ../shared/data is here."""
    folder = tmp_path_factory.mktemp("astronaut")
    Image.fromarray(images.astronaut()).save(folder / "astronaut.png")
    shared = [SHARED_DATA / "liveness-samples", SHARED_DATA / "lfw-devtest" / "images"]
    return [folder, *(f for f in shared if f.is_dir())]


def _same_ends(quantized: LiteModel, served: LiteModel) -> None:
    assert quantized.input_names == served.input_names
    assert quantized.input_shapes == served.input_shapes
    assert sorted(quantized.output_names) == sorted(served.output_names)
    assert quantized.output_shapes == served.output_shapes


def _outputs(model: LiteModel, samples: NDArray[np.float32], name: str) -> NDArray[np.float32]:
    return np.stack([model.run(**{model.input_name: s[np.newaxis]})[name][0] for s in samples])


@pytest.mark.parametrize("name", ["minifasnet_v2", "minifasnet_v1se"])
def test_minifasnet_quantized_from_the_keras_rebuild(
    name: str, photo_folders: list[Path], tmp_path: Path
) -> None:
    store = prepared_store(name, "yunet")
    crops = calibration_set(name, photo_folders, limit=4, cache_dir=store.cache_dir)
    assert crops.shape[1:] == (80, 80, 3) and len(crops) >= 1
    assert crops.max() > 100  # BGR 0-255, unnormalised, as the service feeds it
    written = quantize_store_model(name, ["float16", "int8"], tmp_path, crops, store)
    served = LiteModel(store.open(name).path)
    real = softmax(_outputs(served, crops, "logits"))[:, REAL_CLASS]
    for mode, path in written.items():
        quantized = LiteModel(path)
        _same_ends(quantized, served)
        got = softmax(_outputs(quantized, crops, "logits"))[:, REAL_CLASS]
        diff = np.abs(got - real)
        print(
            f"{name} {mode}: {len(crops)} crops, |p_real diff| max {diff.max():.4f} "
            f"mean {diff.mean():.4f}, {path.stat().st_size} bytes"
        )
        worst, mean = LIVENESS_BOUNDS[mode]
        assert diff.max() < worst and diff.mean() < mean


def test_facemesh_quantized_from_the_replayed_graph(
    photo_folders: list[Path], tmp_path: Path
) -> None:
    store = prepared_store("facemesh", "yunet")
    crops = calibration_set("facemesh", photo_folders, limit=4, cache_dir=store.cache_dir)
    assert crops.shape[1:] == (192, 192, 3) and 0.0 <= crops.min() < crops.max() <= 1.0
    written = quantize_store_model("facemesh", ["float16", "int8"], tmp_path, crops, store)
    served_path = store.open("facemesh").path
    served = LiteModel(served_path)
    reference = _outputs(served, crops, "conv2d_20").reshape(len(crops), 468, 3)
    for mode, path in written.items():
        assert path.stat().st_size > 0.25 * served_path.stat().st_size  # weights kept
        quantized = LiteModel(path)
        _same_ends(quantized, served)
        points = _outputs(quantized, crops, "conv2d_20").reshape(len(crops), 468, 3)
        assert np.isfinite(points).all()
        distance = np.linalg.norm(points[..., :2] - reference[..., :2], axis=-1).mean(axis=1)
        print(
            f"facemesh {mode}: {len(crops)} crops, landmark distance max {distance.max():.3f} "
            f"mean {distance.mean():.3f} px, {path.stat().st_size} bytes"
        )
        worst, mean = MESH_BOUNDS[mode]
        assert distance.max() < worst and distance.mean() < mean
