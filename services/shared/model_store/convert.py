"""Convert a fetched source file into a TFLite file.

Methods (named in each manifest's ``[convert] method``):
- ``onnx2tf``: ONNX -> TensorFlow SavedModel -> TFLite with onnx2tf, run as a subprocess. The
  workarounds the design notes list are kept here: onnx2tf overwrites its input, so it gets a
  copy; it downloads a calibration file unless one is in its working directory, so we put a
  zero-filled one there (it is only used for int8 quantization, which we never ask it for);
  ``args`` passes fixed input shapes (``-ois images:1,3,64,64``).
- ``copy``: the source is already a TFLite file.
- ``keras``: a Keras .h5/.keras file loaded with Keras 3 and converted with TFLiteConverter.
- ``python:<module>:<function>``: a project function ``(source, workdir) -> Path`` (e.g. the
  MiniFASNet PyTorch-state-dict importer in training/, or the dlib ResNet one, which reads
  dlib's .dat serialization without dlib).
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from services.shared.errors import ModelUnavailableError
from services.shared.model_store.manifest import ModelSpec

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"


def _onnx2tf(spec: ModelSpec, source: Path, workdir: Path) -> Path:
    import numpy as np

    np.save(workdir / CALIBRATION_FILE, np.zeros((20, 128, 128, 3), dtype=np.float32))
    model_copy = workdir / "model.onnx"
    shutil.copyfile(source, model_copy)
    output_dir = workdir / "saved_model"
    onnx2tf = Path(sys.executable).with_name("onnx2tf")
    command = [str(onnx2tf), "-i", model_copy.name, "-o", output_dir.name, *spec.conversion.args]
    log.info("running %s", " ".join(command))
    # onnx2tf runs `onnxsim` as a command: the venv's bin folder must be on PATH.
    env = {**os.environ, "PATH": f"{onnx2tf.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, check=False, env=env
    )
    produced = output_dir / "model_float32.tflite"
    if result.returncode != 0 or not produced.is_file():
        tail = (result.stdout + result.stderr)[-4000:]
        raise ModelUnavailableError(f"onnx2tf failed for {spec.key}:\n{tail}")
    return produced


def _copy(spec: ModelSpec, source: Path, workdir: Path) -> Path:
    target = workdir / spec.conversion.output
    shutil.copyfile(source, target)
    return target


def _keras(spec: ModelSpec, source: Path, workdir: Path) -> Path:
    import keras
    import tensorflow as tf

    model = keras.models.load_model(source, compile=False)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    target = workdir / spec.conversion.output
    target.write_bytes(converter.convert())
    return target


CONVERTERS: dict[str, Callable[[ModelSpec, Path, Path], Path]] = {
    "onnx2tf": _onnx2tf,
    "copy": _copy,
    "keras": _keras,
}


def convert(spec: ModelSpec, source: Path, workdir: Path) -> Path:
    """Produce the TFLite file for spec inside workdir and return its path."""
    method = spec.conversion.method
    if method.startswith("python:"):
        _, module_name, function_name = method.split(":", 2)
        function = getattr(importlib.import_module(module_name), function_name)
        try:
            return Path(function(source, workdir))
        except ModelUnavailableError:
            raise
        except Exception as error:  # an importer's own error: one model fails, not the run
            raise ModelUnavailableError(f"{spec.key}: conversion failed: {error}") from error
    if method not in CONVERTERS:
        raise ModelUnavailableError(f"{spec.key}: unknown conversion method {method!r}")
    return CONVERTERS[method](spec, source, workdir)
