"""face-api's age/gender network read from its TFJS weights, rebuilt in Keras, served as TFLite.

Proves:
- the TFJS weights reader dequantises uint8/uint16 tensors as ``tf.io.decodeWeights`` does
  (``q * scale + min``), widens float16, and refuses short, over-long or unknown data naming
  the tensor;
- our crop (``faceapi_crop``) is face-api's, bit for bit: face-api's own network input
  (``extractFaceTensors`` + ``NetInput.toBatchTensor(112, true)`` on TFJS) has the same float32
  bytes on 8 boxes of the astronaut (face-api's odd and even padding, boxes partly outside the
  image, a 112 px box that is not resized, down- and up-scaling) and on 16 UTKFace photos with
  YuNet's box (when ../shared/data is present);
- on those inputs the prepared TFLite file and the Keras rebuild give face-api's age (years)
  and (male, female) probabilities as TFJS computes them (measured: age within 2.1e-5 years,
  probabilities within 1.1e-6).

face-api's values are in ``data/faceapi_reference.npz``, computed by face-api 1.7.15 on TFJS
4.22.0's CPU backend (bench/faceapi_reference.js has the setup) with::

    .venv/bin/python -c "from tests.training.test_faceapi_parity import write_cases; \\
        write_cases('/tmp/faceapi-cases')"
    node bench/faceapi_reference.js /tmp/faceapi/package /tmp/faceapi-cases
    .venv/bin/python -c "from tests.training.test_faceapi_parity import save_reference; \\
        save_reference('/tmp/faceapi-cases')"

The model comes from the store when prepared, else it is fetched (npm registry or
FACEFLOW_MODEL_MIRROR) and converted here; the tests skip only when it cannot be fetched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_store.fetch import fetch_source
from services.shared.model_store.hashing import sha256_file
from services.shared.model_zoo.face_chips import FACEAPI_SIZE, faceapi_crop
from services.shared.runtime import LiteModel
from tests.conftest import SHARED_DATA
from tests.helpers import images
from training.errors import TrainingError
from training.importers.faceapi_age_gender import (
    AGE_OUTPUT,
    GENDER_OUTPUT,
    decode_weights,
    export,
    keras_model_from_tarball,
    read_tarball,
)

REFERENCE = Path(__file__).parent / "data" / "faceapi_reference.npz"
UTK = SHARED_DATA / "attributes-sample"
ASTRONAUT = "astronaut"
# Boxes on the 512x512 astronaut (x, y, width, height); the YuNet box is added by write_cases.
ASTRONAUT_BOXES = {
    "square-112": (160.0, 60.0, 112.0, 112.0),
    "tall-odd": (170.2, 40.7, 95.5, 130.9),
    "wide-even": (130.0, 70.0, 150.0, 110.0),
    "top-left-out": (-30.5, -20.25, 260.0, 240.0),
    "bottom-right-out": (300.0, 350.6, 260.3, 200.0),
    "large": (40.0, 0.0, 400.0, 380.0),
    "small": (190.0, 80.0, 41.0, 47.0),
}
UTK_FACES = 16
AGE_MAX_ABS_DIFF = 1e-3  # years
GENDER_MAX_ABS_DIFF = 1e-5


def _sha256(array: NDArray[Any]) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _utk_photos() -> list[str]:
    with (UTK / "labels.csv").open() as handle:
        rows = sorted(r["image"] for r in csv.DictReader(handle) if r["image"].startswith("utk/"))
    return rows[::9]


def write_cases(folder: str) -> None:
    """The inputs for bench/faceapi_reference.js: raw RGB images, boxes, cases.json."""
    from services.shared.model_zoo import YuNetDetector

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    detector = YuNetDetector.from_store(ModelStore(), "yunet")
    photos: list[tuple[str, NDArray[np.uint8], list[tuple[float, ...]]]] = []
    astronaut = images.astronaut()
    yunet = max(detector.detect(astronaut), key=lambda f: f.area).box
    boxes = [tuple(float(v) for v in yunet), *ASTRONAUT_BOXES.values()]
    photos.append((ASTRONAUT, astronaut, boxes))
    for name in _utk_photos():
        image = decode_image((UTK / name).read_bytes())
        faces = detector.detect(image)
        if faces and sum(1 for p in photos if p[0] != ASTRONAUT) < UTK_FACES:
            largest = max(faces, key=lambda f: f.area).box
            photos.append((name, image, [tuple(float(v) for v in largest)]))
    cases: list[dict[str, Any]] = []
    for name, image, photo_boxes in photos:
        raw = f"{len(cases):02d}.rgb"
        (out / raw).write_bytes(image.tobytes())
        for box in photo_boxes:
            height, width = image.shape[:2]
            entry = {"name": name, "image": raw, "height": height, "width": width}
            cases.append({**entry, "box": list(box), "pixels": _sha256(image)})
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


def save_reference(folder: str, target: Path = REFERENCE) -> None:
    """cases.json + face-api's reference.json and crops.f32 -> the small .npz the tests read."""
    cases = json.loads((Path(folder) / "cases.json").read_text())
    reference = json.loads((Path(folder) / "reference.json").read_text())
    results = reference["results"]
    crops = np.fromfile(Path(folder) / "crops.f32", dtype=np.float32)
    crops = crops.reshape(len(cases), FACEAPI_SIZE, FACEAPI_SIZE, 3)
    versions = reference["versions"]
    np.savez_compressed(
        target,
        names=np.array([c["name"] for c in cases]),
        boxes=np.array([c["box"] for c in cases], dtype=np.float64),
        pixels_sha256=np.array([c["pixels"] for c in cases]),
        crops_sha256=np.array([_sha256(crop) for crop in crops]),
        age=np.array([r["age"] for r in results], dtype=np.float64),
        gender=np.array([r["gender"] for r in results], dtype=np.float64),
        versions=np.array(
            f"face-api {versions['faceapi']}, tfjs {versions['tfjs']} ({versions['backend']})"
        ),
    )


def _reference_cases() -> list[tuple[int, NDArray[np.uint8], NDArray[np.float64]]]:
    """(row in REFERENCE, image, box) for every case whose photo is here with the same pixels."""
    with np.load(REFERENCE) as data:
        names, boxes, pixels = data["names"], data["boxes"], data["pixels_sha256"]
    loaded: dict[str, NDArray[np.uint8] | None] = {}
    cases = []
    for row, name in enumerate(str(n) for n in names):
        if name not in loaded:
            if name == ASTRONAUT:
                loaded[name] = images.astronaut()
            elif (UTK / name).is_file():
                loaded[name] = decode_image((UTK / name).read_bytes())
            else:
                loaded[name] = None
        image = loaded[name]
        if image is None:
            continue
        if _sha256(image) != str(pixels[row]):
            assert name != ASTRONAUT, "scikit-image's astronaut changed: regenerate REFERENCE"
            continue  # another JPEG decoder: not the pixels face-api was given
        cases.append((row, image, boxes[row]))
    return cases


@pytest.fixture(scope="module")
def cases() -> list[tuple[int, NDArray[np.uint8], NDArray[np.float64]]]:
    found = _reference_cases()
    assert len(found) >= 1 + len(ASTRONAUT_BOXES)
    return found


@pytest.fixture(scope="module")
def expected() -> dict[str, NDArray[Any]]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in ("crops_sha256", "age", "gender")}


@pytest.fixture(scope="module")
def source(model_store: ModelStore) -> Path:
    """The verified @vladmandic/face-api npm tarball."""
    try:
        return fetch_source(
            model_store.spec("faceapi_age_gender").source,
            model_store.cache_dir.parent / "downloads",
        )
    except ModelUnavailableError as error:
        if "could not download" not in str(error):
            raise  # a hash mismatch is a failure, not a reason to skip
        pytest.skip(f"@vladmandic/face-api unavailable (no mirror, no registry): {error}")


@pytest.fixture(scope="module")
def lite(model_store: ModelStore, tmp_path_factory: pytest.TempPathFactory) -> LiteModel:
    """The prepared TFLite file, or the same conversion made here when it is not prepared."""
    try:
        path = model_store.open("faceapi_age_gender").path
    except ModelUnavailableError:
        spec = model_store.spec("faceapi_age_gender")
        try:
            tarball = fetch_source(spec.source, model_store.cache_dir.parent / "downloads")
        except ModelUnavailableError as error:
            if "could not download" not in str(error):
                raise
            pytest.skip(f"@vladmandic/face-api unavailable (no mirror, no registry): {error}")
        path = export(tarball, tmp_path_factory.mktemp("faceapi"))
        assert spec.conversion.accepts(sha256_file(path)), "conversion differs from the manifest"
    return LiteModel(path, num_threads=2)


def _manifest(*weights: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"paths": ["shard.bin"], "weights": list(weights)}]


def test_decode_weights_as_tfjs_does() -> None:
    quantized = {"dtype": "uint8", "scale": 0.1, "min": -1.0}
    manifest = _manifest(
        {"name": "q", "shape": [2, 2], "dtype": "float32", "quantization": quantized},
        {"name": "f", "shape": [2], "dtype": "float32"},
        {"name": "h", "shape": [1], "dtype": "float32", "quantization": {"dtype": "float16"}},
        {
            "name": "q16",
            "shape": [1],
            "dtype": "float32",
            "quantization": {"dtype": "uint16", "scale": 0.5, "min": 2.0},
        },
    )
    data = bytes([0, 10, 20, 255]) + struct.pack("<2f", 1.5, -2.25)
    data += np.float16(0.333).tobytes() + struct.pack("<H", 3)  # packed, no alignment
    weights = decode_weights(manifest, {"shard.bin": data})
    expected_q = np.array([[0, 10], [20, 255]], dtype=np.float64) * 0.1 - 1.0
    assert weights["q"].dtype == np.float32
    np.testing.assert_array_equal(weights["q"], expected_q.astype(np.float32))
    np.testing.assert_array_equal(weights["f"], np.array([1.5, -2.25], dtype=np.float32))
    assert weights["h"][0] == np.float32(np.float16(0.333))
    assert weights["q16"][0] == 3.5


def test_decode_weights_refuses_bad_data() -> None:
    one = _manifest({"name": "w", "shape": [2], "dtype": "float32"})
    with pytest.raises(TrainingError, match="w needs bytes 0-8 of a 4-byte shard"):
        decode_weights(one, {"shard.bin": b"\x00" * 4})
    with pytest.raises(TrainingError, match="4 bytes left over"):
        decode_weights(one, {"shard.bin": b"\x00" * 12})
    with pytest.raises(TrainingError, match=r"shard 'shard\.bin' is missing"):
        decode_weights(one, {})
    ints = _manifest({"name": "i", "shape": [1], "dtype": "int32"})
    with pytest.raises(TrainingError, match="i is int32 stored as int32"):
        decode_weights(ints, {"shard.bin": b"\x00" * 4})


def test_reads_the_published_weights(source: Path) -> None:
    weights = read_tarball(source)
    assert len(weights) == 51
    assert sum(int(np.prod(w.shape)) for w in weights.values()) == 421_731
    assert weights["entry_flow/conv_in/filters"].shape == (3, 3, 3, 32)
    assert weights["fc/gender/weights"].shape == (512, 2)
    assert all(w.dtype == np.float32 for w in weights.values())


def test_crop_is_faceapis_bit_for_bit(
    cases: list[tuple[int, NDArray[np.uint8], NDArray[np.float64]]],
    expected: dict[str, NDArray[Any]],
) -> None:
    for row, image, box in cases:
        crop = faceapi_crop(image, box)
        assert crop.shape == (FACEAPI_SIZE, FACEAPI_SIZE, 3) and crop.dtype == np.float32
        assert _sha256(crop) == str(expected["crops_sha256"][row]), f"case {row}: {box}"


def test_crop_refuses_a_box_without_a_pixel_inside() -> None:
    with pytest.raises(ValueError, match="no whole pixel inside the 512x512 image"):
        faceapi_crop(images.astronaut(), np.array([511.5, 10.0, 0.4, 50.0]))


def test_tflite_matches_faceapi_on_tfjs(
    lite: LiteModel,
    cases: list[tuple[int, NDArray[np.uint8], NDArray[np.float64]]],
    expected: dict[str, NDArray[Any]],
) -> None:
    for row, image, box in cases:
        outputs = lite.run(image_rgb=faceapi_crop(image, box)[np.newaxis])
        age = float(outputs[AGE_OUTPUT].reshape(-1)[0])
        gender = outputs[GENDER_OUTPUT].reshape(-1)
        assert abs(age - float(expected["age"][row])) < AGE_MAX_ABS_DIFF, f"case {row}"
        assert float(np.abs(gender - expected["gender"][row]).max()) < GENDER_MAX_ABS_DIFF
    # the tolerance catches a plausible bug: the astronaut's face in BGR order does not pass
    row, image, box = cases[0]
    bgr = lite.run(image_rgb=faceapi_crop(image[..., ::-1], box)[np.newaxis])
    assert abs(float(bgr[AGE_OUTPUT].reshape(-1)[0]) - float(expected["age"][row])) > (
        10 * AGE_MAX_ABS_DIFF
    )
    assert float(np.abs(bgr[GENDER_OUTPUT].reshape(-1) - expected["gender"][row]).max()) > (
        10 * GENDER_MAX_ABS_DIFF
    )


def test_keras_rebuild_matches_faceapi_on_tfjs(
    source: Path,
    cases: list[tuple[int, NDArray[np.uint8], NDArray[np.float64]]],
    expected: dict[str, NDArray[Any]],
) -> None:
    model = keras_model_from_tarball(source)
    for row, image, box in cases:
        outputs = model(faceapi_crop(image, box)[np.newaxis])
        age = float(np.asarray(outputs[AGE_OUTPUT]).reshape(-1)[0])
        gender = np.asarray(outputs[GENDER_OUTPUT]).reshape(-1)
        assert abs(age - float(expected["age"][row])) < AGE_MAX_ABS_DIFF, f"case {row}"
        assert float(np.abs(gender - expected["gender"][row]).max()) < GENDER_MAX_ABS_DIFF
