"""dlib's ResNet face descriptor read without dlib, rebuilt in Keras, served as TFLite.

Proves:
- the reader decodes dlib's integer/float/bool encodings, reads the whole published file
  against the template (130 layers, nothing left over) and refuses truncated or altered files
  with a message naming the offset and the field;
- on six 150x150 chips cut from scikit-image's astronaut by plain numpy (bit-exact on every
  machine), the Keras rebuild gives dlib's raw descriptors (max |diff| < 1e-5, cosine >=
  0.9999) and the prepared TFLite file gives them L2-normalised (cosine >= 0.999). dlib's values
  are in ``data/dlib_resnet_reference.npz``, computed by dlib 20.0.1 (dlib-bin) with::

      .venv/bin/python -c "import numpy as np; from tests.training.test_dlib_resnet_parity \\
          import reference_chips; np.savez('/tmp/chips.npz', chips=reference_chips())"
      /tmp/dlibvenv/bin/python bench/dlib_reference.py chips --model <the .dat> \\
          --chips /tmp/chips.npz --out tests/training/data/dlib_resnet_reference.npz

- live, when a Python with dlib is available (``FACEFLOW_DLIB_PYTHON``, default
  /tmp/dlibvenv/bin/python) and ../shared/data has lfw-devtest: dlib itself detects, aligns and
  describes 30 LFW faces in a subprocess (bench/dlib_reference.py); the Keras and TFLite models
  match it on dlib's chips, and the descriptor of our own chip (YuNet's landmarks onto
  ``DLIB_CHIP_TEMPLATE_150``) stays close to dlib's whole pipeline (mean cosine >= 0.98).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from services.shared.alignment import DLIB_CHIP_SIZE, align_dlib_chip
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.yunet import YuNetDetector
from services.shared.runtime import LiteModel
from tests.helpers import images
from tests.helpers.model_sources import source_or_skip
from training.importers.dlib_resnet import DlibFormatError, DlibResNet, DlibStream, parse
from training.importers.dlib_resnet_export import keras_model_from_dat

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).parent / "data" / "dlib_resnet_reference.npz"
# sha256 of reference_chips().tobytes(): the chips dlib described for REFERENCE
REFERENCE_CHIPS_SHA256 = "22c4ae799db33a3f3837b946842e273c83b4137925af9e0f5a00b760def3377c"
PREDICTOR_MEMBER = "face_recognition_models/models/shape_predictor_5_face_landmarks.dat"
PREDICTOR_SHA256 = "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"
LIVE_PHOTOS = 30

KERAS_MAX_ABS_DIFF = 1e-5
KERAS_MIN_COSINE = 0.9999
TFLITE_MIN_COSINE = 0.999
ALIGNED_MEAN_COSINE = 0.98


def reference_chips() -> NDArray[np.uint8]:
    """Six 150x150 RGB chips of the astronaut: 2x2 block means, crops, one mirrored."""
    photo = images.astronaut().astype(np.uint16)
    half = (photo[0::2, 0::2] + photo[1::2, 0::2] + photo[0::2, 1::2] + photo[1::2, 1::2]) // 4
    small = half.astype(np.uint8)  # 256x256, the face around x 65-165, y 10-125
    corners = ((0, 40), (0, 25), (0, 55), (10, 40), (5, 33))
    crops = [small[y : y + DLIB_CHIP_SIZE, x : x + DLIB_CHIP_SIZE] for y, x in corners]
    crops.append(crops[0][:, ::-1])
    return np.ascontiguousarray(np.stack(crops))


def cosine(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    products = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.asarray(products, dtype=np.float64)


def _fetch(model_store: ModelStore, member: str = "", sha256: str = "") -> Path:
    source = model_store.spec("dlib_resnet").source
    if member:
        source = dataclasses.replace(
            source, member=member, sha256=sha256, filename=Path(member).name
        )
    return source_or_skip(model_store, source)


@pytest.fixture(scope="module")
def source(model_store: ModelStore) -> Path:
    """dlib_face_recognition_resnet_model_v1.dat, sha256-verified."""
    return _fetch(model_store)


@pytest.fixture(scope="module")
def network(source: Path) -> DlibResNet:
    return parse(source.read_bytes())


@pytest.fixture(scope="module")
def keras_raw(source: Path) -> Any:
    """The Keras rebuild without the final L2 normalisation (dlib's raw vector)."""
    return keras_model_from_dat(source, normalize=False)


@pytest.fixture(scope="module")
def lite(model_store: ModelStore) -> LiteModel:
    return LiteModel(model_store.open("dlib_resnet").path, num_threads=2)


def _keras(model: Any, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
    batch = chips.astype(np.float32)
    return np.concatenate([np.asarray(model(chip[np.newaxis])) for chip in batch])


def _lite(lite: LiteModel, chips: NDArray[np.uint8]) -> NDArray[np.float32]:
    batch = chips.astype(np.float32)
    return np.concatenate([lite.run(image_rgb=chip[np.newaxis])["embedding"] for chip in batch])


def test_stream_decodes_dlib_encodings() -> None:
    stream = DlibStream(
        b"\x01\x00\x81\x05\x02\x00\x01\x03\x9a\x99\x99\x81\x18" + b"1" + b"\x01\x03abc"
    )
    assert stream.integer("zero") == 0
    assert stream.integer("minus five") == -5
    assert stream.integer("256") == 256
    assert stream.real("0.6") == pytest.approx(0.6, abs=1e-7)  # 10066330 * 2**-24
    assert stream.boolean("true") is True
    assert stream.string("name") == "abc"
    with pytest.raises(DlibFormatError, match=r"offset 19: file ends while reading more"):
        stream.integer("more")
    with pytest.raises(DlibFormatError, match="bad integer control byte 0x31"):
        DlibStream(b"1").integer("count")
    with pytest.raises(DlibFormatError, match=r"expected a bool \('0' or '1'\), found b'x'"):
        DlibStream(b"x").boolean("flag")


def test_rejects_a_file_that_is_not_the_network() -> None:
    with pytest.raises(DlibFormatError, match="loss layer: expected 'loss_metric_2'"):
        parse(b"\x01\x01\x01\x08loss_mmod")
    with pytest.raises(DlibFormatError, match="add_loss_layer version: expected 1, found 2"):
        parse(b"\x01\x02")


def test_reads_the_published_file(network: DlibResNet) -> None:
    assert network.mean_rgb == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    assert network.input_size == (150, 150)
    assert network.loss_distance_threshold == pytest.approx(0.6)
    assert len(network.layers) == 130
    kinds = [layer.op.kind for layer in network.layers]
    assert kinds.count("con") == 29 and kinds.count("affine") == 29
    assert kinds.count("add_prev") == 14 and kinds.count("tag") + kinds.count("skip") == 22
    first, last = network.layers[0], network.layers[-1]
    assert first.weights is not None and first.weights.shape == (32, 3, 7, 7)
    assert last.weights is not None and last.weights.shape == (256, 128)
    assert network.parameters() == 5_614_592
    for layer in network.layers:
        if layer.op.kind == "con":  # dlib's con_ default: 0 when strided, else half the filter
            assert layer.padding == ((0, 0) if layer.op.stride == 2 else (1, 1))


def test_rejects_truncated_and_altered_files(source: Path) -> None:
    data = source.read_bytes()
    with pytest.raises(DlibFormatError, match="file ends while reading"):
        parse(data[: len(data) // 2])
    with pytest.raises(DlibFormatError, match="unexpected bytes after the network"):
        parse(data + b"\x00")
    first_con = data.index(b"\x05con_4")
    altered = data[:first_con] + b"\x05con_9" + data[first_con + 6 :]
    with pytest.raises(DlibFormatError, match=rf"offset {first_con + 6}: con layer version"):
        parse(altered)
    first_relu = data.index(b"\x05relu_")
    altered = data[:first_relu] + b"\x05relu!" + data[first_relu + 6 :]
    with pytest.raises(DlibFormatError, match="relu layer name: expected 'relu_'"):
        parse(altered)


def test_matches_dlib_on_reference_chips(keras_raw: Any, lite: LiteModel) -> None:
    chips = reference_chips()
    digest = hashlib.sha256(chips.tobytes()).hexdigest()
    assert digest == REFERENCE_CHIPS_SHA256, "the astronaut chips changed: regenerate REFERENCE"
    with np.load(REFERENCE) as data:
        expected = data["descriptors"]
    raw = _keras(keras_raw, chips)
    assert float(np.abs(raw - expected).max()) < KERAS_MAX_ABS_DIFF
    assert cosine(raw, expected).min() >= KERAS_MIN_COSINE
    served = _lite(lite, chips)
    assert np.allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)
    assert cosine(served, expected).min() >= TFLITE_MIN_COSINE
    # the tolerance catches a plausible bug: the same chips in BGR order do not pass
    assert cosine(_lite(lite, chips[..., ::-1]), expected).min() < TFLITE_MIN_COSINE


def _dlib_python() -> str:
    python = os.environ.get("FACEFLOW_DLIB_PYTHON", "/tmp/dlibvenv/bin/python")
    if not Path(python).is_file():
        pytest.skip(f"no Python with dlib at {python} (set FACEFLOW_DLIB_PYTHON)")
    probe = subprocess.run([python, "-c", "import dlib"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"{python} cannot import dlib (pip install dlib-bin numpy pillow)")
    return python


def test_matches_dlib_on_lfw_faces(
    shared_data: Path,
    model_store: ModelStore,
    source: Path,
    keras_raw: Any,
    lite: LiteModel,
    tmp_path: Path,
) -> None:
    python = _dlib_python()
    folder = shared_data / "lfw-devtest" / "images"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    every = sorted(folder.rglob("*.jpg"))
    photos = every[:: max(1, len(every) // LIVE_PHOTOS)][:LIVE_PHOTOS]
    predictor = _fetch(model_store, PREDICTOR_MEMBER, PREDICTOR_SHA256)
    output = tmp_path / "dlib_faces.npz"
    command = [
        python,
        str(REPOSITORY / "bench" / "dlib_reference.py"),
        "faces",
        "--model",
        str(source),
        "--predictor",
        str(predictor),
        "--out",
        str(output),
        *(str(p) for p in photos),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    with np.load(output) as data:
        names, chips = data["names"], data["chips"]
        expected, pipeline = data["descriptors"], data["pipeline_descriptors"]
    assert len(chips) >= LIVE_PHOTOS - 3, "dlib found a face in almost every LFW photo"
    raw = _keras(keras_raw, chips)
    assert float(np.abs(raw - expected).max()) < KERAS_MAX_ABS_DIFF
    assert cosine(raw, expected).min() >= KERAS_MIN_COSINE
    assert cosine(_lite(lite, chips), expected).min() >= TFLITE_MIN_COSINE
    detector = YuNetDetector.from_store(model_store, "yunet")
    ours, theirs = [], []
    for name, reference in zip(names, pipeline, strict=True):
        image = decode_image(Path(str(name)).read_bytes())
        height, width = image.shape[:2]
        faces = detector.detect(image, upscale=False)
        if not faces:
            continue
        centre = np.array([width / 2, height / 2])
        face = min(faces, key=lambda f: float(np.hypot(*(f.box[:2] + f.box[2:] / 2 - centre))))
        ours.append(align_dlib_chip(image, face.landmarks))
        theirs.append(reference)
    similarity = cosine(_lite(lite, np.stack(ours)), np.stack(theirs))
    print(
        f"YuNet-aligned vs dlib pipeline: mean {similarity.mean():.4f} min {similarity.min():.4f}"
    )
    assert similarity.mean() >= ALIGNED_MEAN_COSINE
