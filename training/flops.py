"""Parameter and FLOP counts from the course's formulas, checked against Keras and TensorFlow.

Per layer (output feature map H x W, kernel k_h x k_w, C_in -> C_out channels):

- Conv2D: params ``k_h*k_w*C_in/groups*C_out (+C_out bias)``; MACs ``k_h*k_w*C_in/groups*C_out*H*W``
- DepthwiseConv2D: params ``k_h*k_w*C_in*m (+C_in*m)``; MACs ``k_h*k_w*C_in*m*H*W``
- Dense: params ``N_in*N_out (+N_out)``; MACs ``N_in*N_out``
- BatchNormalization: params ``4*C`` (gamma, beta, moving mean and variance); no MACs (it folds
  into the preceding conv at inference)
- PReLU: one slope per non-shared axis position
- margin heads (ArcFace/CosFace): a ``D x classes`` weight matrix, MACs ``D*classes``

FLOPs are ``2 * MACs`` (one multiply plus one add). ``keras_params`` is Keras' ``count_params``;
``tensorflow_flops`` sums TensorFlow's own registered per-op FLOP statistics over the frozen
graph's Conv2D, DepthwiseConv2dNative and MatMul ops: an independent check of the MAC formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras

from training.errors import TrainingError

TF_COUNTED_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative", "MatMul"})


@dataclass
class LayerCount:
    """One layer's counts."""

    name: str
    kind: str
    params: int
    macs: int


@dataclass
class ModelCount:
    """A model's totals plus the per-layer rows."""

    name: str
    params: int
    macs: int
    keras_params: int
    layers: list[LayerCount] = field(default_factory=list)

    @property
    def flops(self) -> int:
        """2 * MACs."""
        return 2 * self.macs

    @property
    def params_match(self) -> bool:
        """Whether the formula parameter count equals Keras' count_params."""
        return self.params == self.keras_params


def _spatial(shape: Any) -> int:
    dims = [int(d) for d in shape[1:-1]]
    return math.prod(dims) if dims else 1


def _count_layer(layer: Any) -> tuple[int, int]:
    """(params, MACs) of one non-nested layer by the formulas above."""
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        cin = int(layer.input.shape[-1])
        mult = int(layer.depth_multiplier)
        params = kh * kw * cin * mult + (cin * mult if layer.use_bias else 0)
        return params, kh * kw * cin * mult * _spatial(layer.output.shape)
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        cin = int(layer.input.shape[-1]) // int(layer.groups)
        cout = int(layer.filters)
        params = kh * kw * cin * cout + (cout if layer.use_bias else 0)
        return params, kh * kw * cin * cout * _spatial(layer.output.shape)
    if isinstance(layer, keras.layers.Dense):
        n_in, n_out = int(layer.input.shape[-1]), int(layer.units)
        positions = math.prod(int(d) for d in layer.output.shape[1:-1])
        return n_in * n_out + (n_out if layer.use_bias else 0), n_in * n_out * positions
    if isinstance(layer, keras.layers.BatchNormalization):
        return 4 * int(layer.input.shape[layer.axis if isinstance(layer.axis, int) else -1]), 0
    if isinstance(layer, keras.layers.PReLU):
        dims = [int(d) for d in layer.input.shape[1:]]
        for axis in layer.shared_axes or []:
            dims[axis - 1] = 1
        return math.prod(dims), 0
    formula = getattr(layer, "formula_counts", None)
    if callable(formula):
        params, macs = formula()
        return int(params), int(macs)
    if layer.weights:
        raise TrainingError(
            f"no parameter formula for layer {layer.name} ({type(layer).__name__}) with weights"
        )
    return 0, 0


def _walk(model: Any) -> list[LayerCount]:
    rows: list[LayerCount] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows.extend(_walk(layer))
            continue
        params, macs = _count_layer(layer)
        rows.append(LayerCount(layer.name, type(layer).__name__, params, macs))
    return rows


def count_model(model: Any) -> ModelCount:
    """Formula counts for a built Keras model, with Keras' own parameter count beside them."""
    rows = _walk(model)
    return ModelCount(
        name=model.name,
        params=sum(r.params for r in rows),
        macs=sum(r.macs for r in rows),
        keras_params=int(model.count_params()),
        layers=rows,
    )


def tensorflow_flops(model: Any) -> int:
    """FLOPs of the Conv2D, DepthwiseConv2dNative and MatMul ops of the frozen batch-1 graph,
    each counted by TensorFlow's own registered ``flops`` statistic for that op type."""
    import tensorflow as tf
    from tensorflow.python.framework import ops as tf_ops
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)
    function = tf.function(lambda x: model(x, training=False))
    graph = convert_variables_to_constants_v2(function.get_concrete_function(spec)).graph
    total = 0
    for operation in graph.get_operations():
        if operation.type in TF_COUNTED_OPS:
            stats = tf_ops.get_stats_for_node_def(graph, operation.node_def, "flops")
            total += int(stats.value or 0)
    return total
