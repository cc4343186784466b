"""Post-training quantization of served models to float16 and int8 TFLite.

The float graph is rebuilt from the model's source: onnx2tf models are converted again (the
same command the model store runs) and quantized from the SavedModel onnx2tf writes; Keras
models are loaded from their .h5. Files that exist only as TFLite (MediaPipe FaceMesh) have no
float graph to start from and are reported as not convertible.

- ``float16``: weights stored as float16, computed in float32 (half the size, same accuracy);
- ``int8``: weights and activations int8, ranges calibrated on real images; the model keeps a
  float32 input and output (quantize/dequantize inside), so services feed it unchanged.

onnx2tf's SavedModel names its signature outputs ``output_0``..``output_N`` (in the order of the
ONNX graph's outputs), while the TFLite file onnx2tf writes itself, the one the model store
serves, uses the ONNX names (``cls_8``, ``bbox_16``...). The quantizer therefore converts a
wrapper function that returns the same tensors keyed by the ONNX names, so a quantized model is
read by name exactly like the float one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_store.convert import convert
from services.shared.model_store.fetch import fetch_source
from services.shared.model_store.manifest import ModelSpec
from training.compression.naming import onnx_named_converter
from training.errors import TrainingError
from training.export import quiet_stdout

MODES = ("float16", "int8", "dynamic")


def check_mode(mode: str, calibration: NDArray[np.float32] | None) -> None:
    """TrainingError for an unknown mode or an int8 request without calibration images."""
    if mode not in MODES:
        raise TrainingError(f"unknown quantization mode {mode!r}; choose one of {MODES}")
    if mode == "int8" and (calibration is None or len(calibration) == 0):
        raise TrainingError("int8 quantization needs a calibration set (--calibration)")


def apply_mode(converter: Any, mode: str, calibration: NDArray[np.float32] | None) -> None:
    """Set the converter options for one quantization mode."""
    import tensorflow as tf

    check_mode(mode, calibration)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8" and calibration is not None:

        def representative() -> Iterator[list[NDArray[np.float32]]]:
            for sample in calibration:
                yield [sample[np.newaxis].astype(np.float32)]

        converter.representative_dataset = representative


def quantize_keras(model: Any, mode: str, calibration: NDArray[np.float32] | None = None,
                   output_name: str = "output") -> bytes:
    """Quantize a Keras model (batch fixed to 1) to TFLite bytes."""
    import keras
    import tensorflow as tf

    image = keras.Input(tuple(model.inputs[0].shape[1:]), batch_size=1, name="image")
    wrapped = keras.Model(image, {output_name: model(image)})
    converter = tf.lite.TFLiteConverter.from_keras_model(wrapped)
    apply_mode(converter, mode, calibration)
    with quiet_stdout():
        result: bytes = converter.convert()
    return result


def float_converter(spec: ModelSpec, workdir: Path, downloads: Path) -> Any:
    """A TFLiteConverter over the model's float graph (SavedModel or Keras)."""
    import keras
    import tensorflow as tf

    method = spec.conversion.method
    if method not in ("onnx2tf", "keras"):
        raise TrainingError(
            f"{spec.name}: its source is a {method!r} file, there is no float graph to "
            "quantize from (only onnx2tf and keras sources can be re-quantized)"
        )
    try:
        source = fetch_source(spec.source, downloads)
        if method == "keras":
            model = keras.models.load_model(source, compile=False)
            return tf.lite.TFLiteConverter.from_keras_model(model)
        saved = workdir.parent / "float" / "saved_model"
        if not (saved / "saved_model.pb").is_file():
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved = convert(spec, source, saved.parent).parent
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error
    return onnx_named_converter(saved, source)


def quantize_store_model(
    name: str,
    modes: list[str],
    output_dir: Path,
    calibration: NDArray[np.float32] | None = None,
    store: ModelStore | None = None,
) -> dict[str, Path]:
    """Write ``<output_dir>/<name>-<mode>.tflite`` for each mode (one float conversion)."""
    store = store or ModelStore()
    try:
        spec = store.spec(name)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error
    for mode in modes:
        check_mode(mode, calibration)
    downloads = store.cache_dir.parent / "downloads"
    output_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix=f"faceflow-quantize-{name}-") as folder:
        for mode in modes:
            converter = float_converter(spec, Path(folder) / mode, downloads)
            apply_mode(converter, mode, calibration)
            output = output_dir / f"{name}-{mode}.tflite"
            with quiet_stdout():
                output.write_bytes(converter.convert())
            written[mode] = output
    return written

