"""Quantized store models keep the served model's output names; age/gender calibrate on chips.

Needs the prepared store models (gender, yunet) and the sample photos of /work/shared/data;
skips with a reason otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.yunet import YuNetDetector
from services.shared.runtime import LiteModel
from tests.training.store import prepared_store
from training.compression.calibration import calibration_set
from training.compression.naming import output_mapping
from training.compression.quantize import quantize_store_model
from training.errors import DatasetLayoutError, TrainingError

PEOPLE = Path("/work/shared/data/photos/people")


def _store(*names: str) -> ModelStore:
    store = prepared_store(*names)
    if not PEOPLE.is_dir():
        pytest.skip(f"{PEOPLE} absent (sample photos)")
    return store


def test_output_mapping_by_position_and_mismatch() -> None:
    assert output_mapping(["output_1", "output_0"], ["cls_8", "obj_8"]) == {
        "cls_8": "output_0",
        "obj_8": "output_1",
    }
    with pytest.raises(TrainingError, match="cannot restore their names"):
        output_mapping(["output_0"], ["cls_8", "obj_8"])


def test_unknown_calibration_kind_lists_age_and_gender(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"age.*gender"):
        calibration_set("nope", tmp_path)


def test_gender_int8_calibrated_on_service_chips(tmp_path: Path) -> None:
    store = _store("gender", "yunet")
    calibration = calibration_set("gender", PEOPLE, limit=6)
    assert calibration.shape[1:] == (32, 32, 3) and len(calibration) >= 4
    # the service's normalisation: (RGB - mean) / 256, so values sit well inside [-0.5, 0.6]
    assert -0.5 < calibration.min() < 0 < calibration.max() < 0.6
    path = quantize_store_model("gender", ["int8"], tmp_path, calibration, store)["int8"]
    quantized, reference = LiteModel(path), LiteModel(store.open("gender").path)
    assert quantized.input_names == reference.input_names
    for sample in calibration:
        tensor = sample[np.newaxis]
        got = quantized.run(**{quantized.input_name: tensor})["probabilities"]
        want = reference.run(**{reference.input_name: tensor})["probabilities"]
        assert np.abs(got - want).max() < 0.1
        assert np.argmax(got) == np.argmax(want)


def test_yunet_float16_keeps_onnx_output_names_and_detects(tmp_path: Path) -> None:
    store = _store("yunet")
    path = quantize_store_model("yunet", ["float16"], tmp_path, None, store)["float16"]
    served = LiteModel(store.open("yunet").path)
    half = LiteModel(path)
    image = decode_image((PEOPLE / "biden" / "biden.jpg").read_bytes())
    detectors = [YuNetDetector(model, store.spec("yunet")) for model in (served, half)]
    tensor = np.zeros(served.input_shapes[served.input_name], dtype=np.float32)
    raw = [d.raw_outputs(tensor) for d in detectors]
    assert sorted(raw[1]) == sorted(raw[0])
    assert "cls_8" in raw[1]
    want, got = (d.detect(image) for d in detectors)
    assert len(want) == len(got) >= 1
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(a.box, b.box, atol=2.0)
        np.testing.assert_allclose(a.landmarks, b.landmarks, atol=2.0)


def test_age_calibration_without_faces_is_a_layout_error(tmp_path: Path) -> None:
    _store("yunet")
    from PIL import Image

    Image.new("RGB", (64, 64), (128, 128, 128)).save(tmp_path / "blank.png")
    with pytest.raises(DatasetLayoutError, match="no face found"):
        calibration_set("age", tmp_path)
