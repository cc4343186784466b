"""Post-training quantization of served models to float16 and int8 TFLite.

The float graph is rebuilt from the model's source: onnx2tf models are converted again (the
same command the model store runs) and quantized from the SavedModel onnx2tf writes; Keras
models are loaded from their .h5; ``python:`` importers (MiniFASNet: PyTorch weights rebuilt in
Keras) give their named Keras model through ``float_model``; files that exist only as TFLite
(MediaPipe FaceMesh) are replayed as TensorFlow ops by ``training.importers.tflite_graph``.
Every route keeps the served file's input and output names, so a quantized file is a drop-in.

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

import importlib
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
from training.importers.tflite_graph import tflite_converter

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


def quantize_keras(
    model: Any,
    mode: str,
    calibration: NDArray[np.float32] | None = None,
    output_name: str = "output",
) -> bytes:
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


def _keras_converter(source: Path) -> Any:
    """``keras`` sources: the .h5/.keras model loaded with Keras 3."""
    import keras
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(keras.models.load_model(source, compile=False))


def _onnx2tf_converter(spec: ModelSpec, source: Path, workdir: Path) -> Any:
    """``onnx2tf`` sources: onnx2tf's SavedModel (made once per run), ONNX output names kept."""
    saved = workdir.parent / "float" / "saved_model"
    if not (saved / "saved_model.pb").is_file():
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved = convert(spec, source, saved.parent).parent
    return onnx_named_converter(saved, source)


def _importer_converter(spec: ModelSpec, source: Path) -> Any:
    """``python:<module>:<function>`` sources: the module's ``float_model(function, source)``."""
    import tensorflow as tf

    _, module_name, function = spec.conversion.method.split(":", 2)
    builder = getattr(importlib.import_module(module_name), "float_model", None)
    if builder is None:
        raise TrainingError(
            f"{spec.name}: {module_name} has no float_model(); there is no float graph to "
            "quantize from"
        )
    try:
        model = builder(function, source)
    except KeyError as error:
        message = f"{spec.name}: {module_name} has no float model for {function}"
        raise TrainingError(message) from error
    return tf.lite.TFLiteConverter.from_keras_model(model)


def _tflite_converter(spec: ModelSpec, source: Path) -> Any:
    """``copy`` sources that are TFLite files: the float graph replayed from the flatbuffer."""
    if source.suffix != ".tflite":
        raise TrainingError(f"{spec.name}: its copied source {source.name} is not a .tflite file")
    return tflite_converter(source)


def float_converter(spec: ModelSpec, workdir: Path, downloads: Path) -> Any:
    """A TFLiteConverter over the model's float graph, rebuilt from the manifest's source.

    onnx2tf: the SavedModel onnx2tf writes (ONNX output names kept); keras: the .h5/.keras;
    ``python:`` importers: their ``float_model``; ``copy`` of a .tflite: the graph replayed by
    ``training.importers.tflite_graph``.
    """
    method = spec.conversion.method
    if method not in ("onnx2tf", "keras", "copy") and not method.startswith("python:"):
        raise TrainingError(f"{spec.name}: no float graph can be rebuilt from a {method!r} source")
    try:
        source = fetch_source(spec.source, downloads)
        if method == "keras":
            return _keras_converter(source)
        if method == "onnx2tf":
            return _onnx2tf_converter(spec, source, workdir)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error
    if method == "copy":
        return _tflite_converter(spec, source)
    return _importer_converter(spec, source)


def output_path(output_dir: Path, name: str, mode: str) -> Path:
    """Where :func:`quantize_store_model` writes the ``mode`` file of model ``name``."""
    return output_dir / f"{name}-{mode}.tflite"


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
            output = output_path(output_dir, name, mode)
            partial = output.with_name(f".{output.name}.partial")
            with quiet_stdout():
                partial.write_bytes(converter.convert())
            partial.replace(output)
            written[mode] = output
    return written
