"""Rebuild a float TensorFlow graph from a TFLite flatbuffer by replaying its operators.

Some served models exist only as TFLite (MediaPipe FaceMesh ships ``face_landmark.tflite`` and
no float graph). To quantize them again, this module reads the file with LiteRT's interpreter
(operators in execution order from ``_get_ops_details()``, weights from ``get_tensor()``) and
each operator's options (strides, padding, fused activation) from the flatbuffer itself, then
runs the same operators as TensorFlow ops with the weights as constants. float16 weights (a
``DEQUANTIZE`` of a float16 constant) are widened to float32.

Layouts: TFLite stores conv kernels OHWI (TensorFlow wants HWIO) and depthwise kernels
``(1, H, W, C*M)`` (TensorFlow wants ``(H, W, C, M)``, same channel order). TFLite's ``SAME``
padding is TensorFlow's (extra row/column at the end for even totals), so both map directly.

Only the operators face_landmark.tflite uses are supported (CONV_2D, DEPTHWISE_CONV_2D, ADD,
PRELU, MAX_POOL_2D, PAD, plus DEQUANTIZE of float16 weights); any other raises a TrainingError
naming it. Inputs and outputs keep the file's names (its signature's keys when it has one,
otherwise the tensor names, as ``services.shared.runtime.LiteModel`` reads them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from training.errors import TrainingError

Tensor = Any  # a tf.Tensor (TensorFlow ships no type stubs)
Replay = Callable[["Operator", list[Tensor]], Tensor]


@dataclass(frozen=True)
class Operator:
    """One TFLite operator: its name, tensor indices (-1: optional input left out), options."""

    name: str
    inputs: tuple[int, ...]
    output: int
    options: Any  # the flatbuffer's <Op>OptionsT object, or None


@dataclass(frozen=True)
class TfliteGraph:
    """What the replay needs: operators, constant tensors and the named graph ends."""

    operators: list[Operator]
    constants: dict[int, NDArray[Any]]
    inputs: dict[str, int]  # name -> tensor index
    input_shapes: dict[str, tuple[int, ...]]
    outputs: dict[str, int]


def _activation(x: Tensor, code: int) -> Tensor:
    """A fused activation (``ActivationFunctionType``) applied to x."""
    import tensorflow as tf
    from ai_edge_litert.schema_py_generated import ActivationFunctionType as Act

    if code == Act.NONE:
        return x
    if code == Act.RELU:
        return tf.nn.relu(x)
    if code == Act.RELU6:
        return tf.nn.relu6(x)
    raise TrainingError(f"unsupported fused activation {code} (only NONE, RELU, RELU6)")


def _padding(code: int) -> str:
    from ai_edge_litert.schema_py_generated import Padding

    return "SAME" if code == Padding.SAME else "VALID"


def _conv_2d(op: Operator, args: list[Tensor]) -> Tensor:
    """CONV_2D: kernel OHWI -> HWIO; bias optional."""
    import tensorflow as tf

    x, kernel = args[0], args[1]
    if int(kernel.shape[3]) != int(x.shape[3]):
        raise TrainingError(f"grouped CONV_2D (kernel {kernel.shape}, input {x.shape})")
    o = op.options
    y = tf.nn.conv2d(
        x,
        tf.transpose(kernel, (1, 2, 3, 0)),
        strides=(1, o.strideH, o.strideW, 1),
        padding=_padding(o.padding),
        dilations=(1, o.dilationHFactor, o.dilationWFactor, 1),
    )
    if len(args) > 2 and args[2] is not None:
        y = y + args[2]
    return _activation(y, o.fusedActivationFunction)


def _depthwise_conv_2d(op: Operator, args: list[Tensor]) -> Tensor:
    """DEPTHWISE_CONV_2D: kernel (1, H, W, C*M) -> (H, W, C, M)."""
    import tensorflow as tf

    x, kernel = args[0], args[1]
    channels = int(x.shape[3])
    height, width, total = (int(v) for v in kernel.shape[1:])
    o = op.options
    y = tf.nn.depthwise_conv2d(
        x,
        tf.reshape(kernel, (height, width, channels, total // channels)),
        strides=(1, o.strideH, o.strideW, 1),
        padding=_padding(o.padding),
        dilations=(o.dilationHFactor, o.dilationWFactor),
    )
    if len(args) > 2 and args[2] is not None:
        y = y + args[2]
    return _activation(y, o.fusedActivationFunction)


def _add(op: Operator, args: list[Tensor]) -> Tensor:
    return _activation(args[0] + args[1], op.options.fusedActivationFunction)


def _prelu(op: Operator, args: list[Tensor]) -> Tensor:
    """PRELU written as Keras does (relu(x) - alpha * relu(-x)): the converter fuses it back."""
    import tensorflow as tf

    x, alpha = args
    return tf.nn.relu(x) + (-alpha) * tf.nn.relu(-x)


def _max_pool_2d(op: Operator, args: list[Tensor]) -> Tensor:
    import tensorflow as tf

    o = op.options
    y = tf.nn.max_pool2d(
        args[0],
        ksize=(o.filterHeight, o.filterWidth),
        strides=(o.strideH, o.strideW),
        padding=_padding(o.padding),
    )
    return _activation(y, o.fusedActivationFunction)


def _pad(op: Operator, args: list[Tensor]) -> Tensor:
    import tensorflow as tf

    return tf.pad(args[0], args[1])


REPLAYS: dict[str, Replay] = {
    "CONV_2D": _conv_2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv_2d,
    "ADD": _add,
    "PRELU": _prelu,
    "MAX_POOL_2D": _max_pool_2d,
    "PAD": _pad,
}


def _interpreter(path: Path) -> Any:
    """A LiteRT interpreter without the XNNPACK delegate (which would merge the operators)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(path),
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    except (ValueError, RuntimeError) as error:
        raise TrainingError(f"cannot read TFLite file {path}: {error}") from error
    interpreter.allocate_tensors()
    return interpreter


def _options(path: Path) -> list[Any]:
    """Each operator's builtin options of the main subgraph, in the file's order."""
    from ai_edge_litert.schema_py_generated import ModelT

    model = ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    return [op.builtinOptions for op in model.subgraphs[0].operators]


def _operators(interpreter: Any, options: list[Any]) -> list[Operator]:
    """The operators to replay; TrainingError naming any this module cannot."""
    details = interpreter._get_ops_details()
    names = sorted({d["op_name"] for d in details} - {*REPLAYS, "DEQUANTIZE"})
    if names:
        raise TrainingError(
            f"unsupported TFLite operator(s) {', '.join(names)}; the TFLite importer replays "
            f"only {', '.join(sorted({*REPLAYS, 'DEQUANTIZE'}))}"
        )
    if len(details) != len(options):
        raise TrainingError(f"{len(details)} operators run but the file lists {len(options)}")
    return [
        Operator(d["op_name"], tuple(int(i) for i in d["inputs"]), int(d["outputs"][0]), o)
        for d, o in zip(details, options, strict=True)
    ]


def _ends(interpreter: Any) -> tuple[dict[str, int], dict[str, int]]:
    """(inputs, outputs) as name -> tensor index: the signature's keys, or the tensor names."""
    signatures = interpreter._get_full_signature_list()
    if len(signatures) > 1:
        raise TrainingError(f"the file has {len(signatures)} signatures; expected at most one")
    if signatures:
        signature = next(iter(signatures.values()))
        return dict(signature["inputs"]), dict(signature["outputs"])
    inputs = {d["name"]: int(d["index"]) for d in interpreter.get_input_details()}
    outputs = {d["name"]: int(d["index"]) for d in interpreter.get_output_details()}
    return inputs, outputs


def _constants(
    interpreter: Any, operators: list[Operator], graph_inputs: set[int]
) -> dict[int, NDArray[Any]]:
    """Values of every operator input that is neither produced nor fed (weights), as float32."""
    fed = {op.output for op in operators} | graph_inputs
    wanted = {i for op in operators for i in op.inputs if i >= 0 and i not in fed}
    constants: dict[int, NDArray[Any]] = {}
    for op in operators:
        if op.name == "DEQUANTIZE":
            source = interpreter.get_tensor(op.inputs[0])
            if source.dtype != np.float16:
                raise TrainingError(f"DEQUANTIZE of {source.dtype} weights is not supported")
            constants[op.output] = source.astype(np.float32)
    for index in wanted:
        if index not in constants:
            value = np.asarray(interpreter.get_tensor(index))
            constants[index] = value.astype(np.float32) if value.dtype == np.float16 else value
    return constants


def read_graph(path: Path) -> TfliteGraph:
    """Operators, weights and named ends of a TFLite file (TrainingError when unsupported)."""
    interpreter = _interpreter(path)
    operators = _operators(interpreter, _options(path))
    inputs, outputs = _ends(interpreter)
    details = {int(d["index"]): d for d in interpreter.get_tensor_details()}
    shapes = {name: tuple(int(v) for v in details[i]["shape"]) for name, i in inputs.items()}
    constants = _constants(interpreter, operators, set(inputs.values()))
    return TfliteGraph(operators, constants, inputs, shapes, outputs)


def replay(graph: TfliteGraph, inputs: dict[str, Tensor]) -> dict[str, Tensor]:
    """Run the graph's operators as TensorFlow ops on inputs (by name); outputs by name."""
    import tensorflow as tf

    values: dict[int, Tensor] = {i: tf.constant(v) for i, v in graph.constants.items()}
    values.update({graph.inputs[name]: tensor for name, tensor in inputs.items()})
    for op in graph.operators:
        if op.name == "DEQUANTIZE":
            continue  # its float32 result is already a constant
        args = [values[i] if i >= 0 else None for i in op.inputs]
        values[op.output] = REPLAYS[op.name](op, args)
    return {name: values[index] for name, index in graph.outputs.items()}


def concrete_function(graph: TfliteGraph) -> Any:
    """A ``tf.function`` over the replayed graph, traced with the file's input names/shapes."""
    import tensorflow as tf

    specs = {
        name: tf.TensorSpec(shape, tf.float32, name=name)
        for name, shape in graph.input_shapes.items()
    }

    def rebuilt(**inputs: Tensor) -> dict[str, Tensor]:
        return replay(graph, inputs)

    return tf.function(rebuilt).get_concrete_function(**specs)


def tflite_converter(path: Path) -> Any:
    """A ``tf.lite.TFLiteConverter`` over the float graph rebuilt from the TFLite file.

    The function is handed over with a ``tf.Module`` holding it: without that trackable object
    the converter names the outputs ``Identity``, ``Identity_1``... instead of the dict keys.
    """
    import tensorflow as tf

    module = tf.Module()
    module.rebuilt = concrete_function(read_graph(path))
    return tf.lite.TFLiteConverter.from_concrete_functions([module.rebuilt], module)
