"""dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1) rebuilt in Keras 3.

The graph is made by interpreting the template that training/importers/dlib_resnet.py reads
from the weights file, layer by layer and the way dlib runs it:

- input: ``input_rgb_image_sized<150>`` subtracts a per-channel mean (stored in the file:
  122.782, 117.001, 104.298 for R, G, B) and divides by 256. Here that is a ``Normalization``
  layer inside the model, so the model takes a (1, 150, 150, 3) float32 **RGB 0-255** chip
  (dlib's ``get_face_chip(image, shape, 150, 0.25)`` or :func:`services.shared.alignment.
  align_dlib_chip`).
- ``con``: cross-correlation with dlib's padding (0 for stride 2, half the filter size for
  stride 1); weights go from dlib's (out, in, rows, cols) to Keras (rows, cols, in, out). Each
  ``affine`` (batch norm frozen to gamma, beta) directly above a ``con`` is folded into that
  convolution's kernel and bias: the same function with one op fewer.
- ``add_prev``: dlib adds two tensors of different shapes by giving the output the larger size
  in every dimension and reading missing values as 0 (``tt::add``). The down-sampling blocks
  need both halves of that: the skip path has fewer channels, and at 8x8 the strided 3x3
  convolution gives 3x3 while the 2x2 average pool gives 4x4. Both inputs are zero-padded at
  the end (bottom, right, last channels) before the sum.
- ``avg_pool_everything`` is a global average, ``fc_no_bias`` a Dense layer without bias.

Output: the 128-d descriptor, L2-normalised (``normalize=False`` gives dlib's raw vector, whose
Euclidean distance dlib thresholds at 0.6).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from training.importers.dlib_resnet import DlibFormatError, DlibResNet, Layer

INPUT_NAME = "image_rgb"
OUTPUT_NAME = "embedding"
INPUT_SCALE = 256.0  # dlib's input_rgb_image divides by 256 after subtracting the mean


@keras.saving.register_keras_serializable(package="faceflow")
class ZeroPadChannels(keras.layers.Layer):  # type: ignore[misc]
    """Append ``extra`` zero channels (dlib's add_prev reads missing channels as 0)."""

    def __init__(self, extra: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra = extra

    def call(self, inputs: Any) -> Any:
        return keras.ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, self.extra]])

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        channels = input_shape[-1]
        return (*input_shape[:-1], None if channels is None else channels + self.extra)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "extra": self.extra}


def _shape(tensor: Any) -> tuple[int, int, int]:
    _, height, width, channels = tensor.shape
    return int(height), int(width), int(channels)


def _pad_to(tensor: Any, target: tuple[int, int, int], name: str) -> Any:
    height, width, channels = _shape(tensor)
    if (height, width) != target[:2]:
        padding = ((0, target[0] - height), (0, target[1] - width))
        tensor = keras.layers.ZeroPadding2D(padding, name=f"{name}_pad_hw")(tensor)
    if channels != target[2]:
        tensor = ZeroPadChannels(target[2] - channels, name=f"{name}_pad_c")(tensor)
    return tensor


def _add_prev(current: Any, tagged: Any, name: str) -> Any:
    target = tuple(max(a, b) for a, b in zip(_shape(current), _shape(tagged), strict=True))
    size = (target[0], target[1], target[2])
    a = _pad_to(current, size, f"{name}_a")
    b = _pad_to(tagged, size, f"{name}_b")
    return keras.layers.Add(name=name)([a, b])


def folded_conv_weights(
    con: Layer, affine: Layer | None
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Keras (rows, cols, in, out) kernel and bias of con, with affine's scale folded in."""
    if con.weights is None or con.bias is None:
        raise DlibFormatError("con layer without weights")
    kernel = con.weights.transpose(2, 3, 1, 0).astype(np.float64)
    bias = con.bias.astype(np.float64)
    if affine is not None:
        if affine.weights is None or affine.bias is None:
            raise DlibFormatError("affine layer without gamma/beta")
        kernel = kernel * affine.weights
        bias = bias * affine.weights + affine.bias
    return kernel.astype(np.float32), bias.astype(np.float32)


def _conv(x: Any, con: Layer, affine: Layer | None, name: str) -> Any:
    kernel, bias = folded_conv_weights(con, affine)
    rows = kernel.shape[0]
    stride = con.op.stride
    if stride == 1 and con.padding == (rows // 2, rows // 2):
        padding = "same"  # symmetric for an odd kernel at stride 1: dlib's padding exactly
    else:
        if con.padding != (0, 0):
            x = keras.layers.ZeroPadding2D(con.padding, name=f"{name}_pad")(x)
        padding = "valid"
    layer = keras.layers.Conv2D(
        kernel.shape[-1], rows, strides=stride, padding=padding, use_bias=True, name=name
    )
    output = layer(x)
    layer.set_weights([kernel, bias])
    return output


def build_dlib_resnet(
    network: DlibResNet, normalize: bool = True, batch_size: int | None = 1
) -> keras.Model:
    """The Keras model with the file's weights; input ``image_rgb`` RGB 0-255."""
    inputs = keras.Input((*network.input_size, 3), batch_size=batch_size, name=INPUT_NAME)
    x = keras.layers.Normalization(
        axis=-1,
        mean=list(network.mean_rgb),
        variance=[INPUT_SCALE**2] * 3,
        name="input_rgb_image",
    )(inputs)
    tags: dict[int, Any] = {}
    layers = network.layers
    index = 0
    while index < len(layers):
        layer = layers[index]
        op = layer.op
        name = f"{op.kind}_{index}"
        if op.kind == "con":
            following = layers[index + 1] if index + 1 < len(layers) else None
            affine = following if following is not None and following.op.kind == "affine" else None
            x = _conv(x, layer, affine, name)
            index += 1 if affine is None else 2
            continue
        if op.kind == "affine":
            raise DlibFormatError(f"layer {index}: affine not directly above a con layer")
        if layer.padding != (0, 0) and op.kind in ("max_pool", "avg_pool"):
            raise DlibFormatError(f"layer {index}: padded pooling is not supported")
        if op.kind == "relu":
            x = keras.layers.ReLU(name=name)(x)
        elif op.kind == "max_pool":
            x = keras.layers.MaxPooling2D(op.kernel, op.stride, "valid", name=name)(x)
        elif op.kind == "avg_pool" and op.kernel == 0:
            x = keras.layers.GlobalAveragePooling2D(name=name)(x)
        elif op.kind == "avg_pool":
            x = keras.layers.AveragePooling2D(op.kernel, op.stride, "valid", name=name)(x)
        elif op.kind == "tag":
            tags[op.tag] = x
        elif op.kind == "skip":
            x = tags[op.tag]
        elif op.kind == "add_prev":
            x = _add_prev(x, tags[op.tag], name)
        elif op.kind == "fc_no_bias":
            if layer.weights is None:
                raise DlibFormatError(f"layer {index}: fc without weights")
            if len(x.shape) != 2:  # dlib flattens NCHW; only a pooled (N, k) input matches
                raise DlibFormatError(f"layer {index}: fc on a {x.shape} tensor")
            dense = keras.layers.Dense(layer.weights.shape[1], use_bias=False, name=name)
            x = dense(x)
            dense.set_weights([layer.weights])
        index += 1
    if normalize:
        x = keras.layers.UnitNormalization(axis=-1, name="l2_normalize")(x)
    return keras.Model(inputs, x, name="dlib_resnet_v1")
