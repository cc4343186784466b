"""A TFLite converter over onnx2tf's SavedModel whose outputs keep the ONNX output names.

onnx2tf exports its Keras model's outputs as ``output_<i>``, ``i`` being the position of the
output in the ONNX graph (``graph.output``); the TFLite file onnx2tf writes itself (the one the
model store serves) names them after the ONNX outputs. The converter built here runs a
``tf.function`` that calls the SavedModel's serving signature and returns its tensors keyed by
the ONNX names, so quantized files are read by name exactly like the served float model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.errors import TrainingError


def onnx_output_names(onnx_file: Path) -> list[str]:
    """The ONNX graph's output names, in graph order."""
    import onnx

    model = onnx.load(str(onnx_file), load_external_data=False)
    return [output.name for output in model.graph.output]


def output_mapping(signature_outputs: list[str], onnx_names: list[str]) -> dict[str, str]:
    """ONNX name -> SavedModel output key (``output_<i>`` is the i-th ONNX output).

    TrainingError when the SavedModel's outputs are not exactly ``output_0..output_<n-1>`` for
    the n ONNX outputs (then the position cannot be trusted to give the name).
    """
    expected = {f"output_{i}" for i in range(len(onnx_names))}
    if set(signature_outputs) != expected:
        raise TrainingError(
            f"onnx2tf SavedModel outputs {sorted(signature_outputs)} do not match the "
            f"{len(onnx_names)} ONNX outputs {onnx_names}; cannot restore their names"
        )
    return {name: f"output_{i}" for i, name in enumerate(onnx_names)}


def onnx_named_converter(saved_model: Path, onnx_file: Path) -> Any:
    """``tf.lite.TFLiteConverter`` whose single signature has the ONNX output names."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model))
    serving = loaded.signatures["serving_default"]
    mapping = output_mapping(list(serving.structured_outputs), onnx_output_names(onnx_file))
    input_specs: dict[str, Any] = dict(serving.structured_input_signature[1])

    def named(**inputs: Any) -> dict[str, Any]:
        outputs = serving(**inputs)
        return {name: outputs[key] for name, key in mapping.items()}

    concrete = tf.function(named).get_concrete_function(**input_specs)
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete], loaded)
