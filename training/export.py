"""Export a trained Keras model to TFLite and register it in the model store.

The TFLite file has a fixed batch of 1 and one signature (what ``services.shared.runtime``
expects). Registration (``services.shared.model_store.local``) writes a manifest TOML into a
manifest folder and the file into the model cache, so a service serves it when its model
setting names it and ``FACEFLOW_EXTRA_MANIFESTS`` includes that folder.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from services.shared.model_store.local import register_local_model
from services.shared.model_store.manifest import ManifestError
from services.shared.settings import default_cache_dir
from training.errors import TrainingError
from training.precision import float32_copy


def default_manifest_dir() -> Path:
    """Where exported manifests go unless told otherwise: ``<XDG cache>/faceflow/manifests``."""
    return default_cache_dir() / "manifests"


def to_tflite(model: Any, output_name: str = "output") -> bytes:
    """Convert a Keras model (batch fixed to 1, one named output) to float32 TFLite bytes
    (a model trained in mixed bfloat16 is converted from its float32 copy).

    The model is wrapped in a batch-1 functional model with a dict output, which names the
    signature's output; ``from_concrete_functions`` with a loaded checkpoint as trackable
    produced NaN outputs here (TF 2.21), ``from_keras_model`` does not.
    """
    model = float32_copy(model)
    image = keras.Input(tuple(model.inputs[0].shape[1:]), batch_size=1, name="image")
    return keras_to_tflite(keras.Model(image, {output_name: model(image)}))


def keras_to_tflite(model: Any) -> bytes:
    """Float32 TFLite bytes of a Keras model as it is (its own input and output names).

    ``from_keras_model``: converting a ``tf.function`` that calls a Keras 3 model
    (``from_concrete_functions`` or a SavedModel of a wrapper module) silently dropped the
    weights here (NaN outputs, a file 1/8 the size). Keras prints the traced signature to
    stdout while converting; it is kept off the CLI's stdout.
    """
    with quiet_stdout():
        result: bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    return result


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keras' SavedModel export prints its signature to stdout; the CLI's stdout is JSON."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def export_model(
    model: Any,
    output: Path,
    name: str,
    version: str,
    task: str,
    description: str,
    input_spec: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    manifest_dir: Path | None = None,
    cache_dir: Path | None = None,
    output_name: str = "output",
    license_text: str = "trained locally",
    check: Callable[[Path], None] | None = None,
) -> dict[str, str]:
    """Write the TFLite file to output, ``check`` it (when given), register it; returns the
    paths written. A file that fails its check is removed and nothing is registered."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(to_tflite(model, output_name))
    if check is not None:
        try:
            check(output)
        except Exception:
            output.unlink(missing_ok=True)
            raise
    manifest_dir = manifest_dir or default_manifest_dir()
    cache_dir = cache_dir or default_cache_dir() / "models"
    try:
        toml_path = register_local_model(
            output,
            name,
            version,
            task,
            manifest_dir,
            cache_dir,
            description=description,
            license_text=license_text,
            input_spec=input_spec,
            params=params,
        )
    except ManifestError as error:
        raise TrainingError(str(error)) from error
    return {"tflite": str(output), "manifest": str(toml_path), "cache_dir": str(cache_dir)}
