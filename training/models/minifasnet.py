"""MiniFASNetV2 and MiniFASNetV1SE (Silent-Face-Anti-Spoofing) rebuilt in Keras 3.

The networks follow the upstream PyTorch definition (minivision-ai/Silent-Face-Anti-Spoofing,
``src/model_lib/MiniFASNet.py``): a pruned MobileFaceNet with channel counts taken from the
upstream "keep" lists, depthwise blocks with residuals, squeeze-excitation on the last block of
each residual stage (V1SE only), a depthwise "GDC" head (kernel 5x5 for 80x80 inputs), a
128-d embedding with batch norm and a 3-class linear classifier. Layout is NHWC; layer names are
the PyTorch state-dict prefixes so weights load by name.

Input: (1, 80, 80, 3) float32 **BGR 0-255** (upstream feeds ``cv2.imread`` pixels without
scaling). Output: 3 logits; class 1 is "real face" (upstream sums the two models' softmaxes).

PyTorch pads explicitly (padding=1 on every side); Keras "same" padding is asymmetric for
stride 2, so every padded convolution here is ZeroPadding2D followed by a "valid" convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np
from numpy.typing import NDArray

INPUT_SIZE = 80
NUM_CLASSES = 3
EMBEDDING_SIZE = 128
BN_EPSILON = 1e-5  # PyTorch's BatchNorm default
SE_REDUCTION = 4

# Upstream keep lists: per-layer channel counts left after pruning.
KEEP_1_8M = (
    32,
    32,
    103,
    103,
    64,
    13,
    13,
    64,
    26,
    26,
    64,
    13,
    13,
    64,
    52,
    52,
    64,
    231,
    231,
    128,
    154,
    154,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    308,
    308,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    512,
    512,
)
KEEP_1_8M_ = (
    32,
    32,
    103,
    103,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    231,
    231,
    128,
    231,
    231,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    77,
    77,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    308,
    308,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    512,
    512,
)

Variant = Literal["MiniFASNetV2", "MiniFASNetV1SE"]


@dataclass(frozen=True)
class Architecture:
    """What distinguishes the variants: channel counts and squeeze-excitation."""

    keep: tuple[int, ...]
    squeeze_excite: bool


ARCHITECTURES: dict[str, Architecture] = {
    "MiniFASNetV2": Architecture(KEEP_1_8M_, squeeze_excite=False),
    "MiniFASNetV1SE": Architecture(KEEP_1_8M, squeeze_excite=True),
}


def head_kernel(input_size: int) -> int:
    """Side of the depthwise head kernel (upstream ``get_kernel``): (size + 15) // 16."""
    return (input_size + 15) // 16


def _conv_bn(
    x: Any,
    prefix: str,
    out_channels: int,
    kernel: int,
    stride: int,
    padding: int,
    depthwise: bool,
    prelu: bool,
) -> Any:
    """Conv (no bias) + BatchNorm (+ per-channel PReLU): upstream Conv_block / Linear_block."""
    if padding:
        x = keras.layers.ZeroPadding2D(padding, name=f"{prefix}.pad")(x)
    if depthwise:
        x = keras.layers.DepthwiseConv2D(
            kernel, strides=stride, padding="valid", use_bias=False, name=f"{prefix}.conv"
        )(x)
    else:
        x = keras.layers.Conv2D(
            out_channels,
            kernel,
            strides=stride,
            padding="valid",
            use_bias=False,
            name=f"{prefix}.conv",
        )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}.bn")(x)
    if prelu:
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"{prefix}.prelu")(x)
    return x


def _squeeze_excite(x: Any, prefix: str, channels: int) -> Any:
    """Upstream SEModule: avg pool, 1x1 conv, BN, ReLU, 1x1 conv, BN, sigmoid, scale."""
    s = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}.avg_pool")(x)
    s = keras.layers.Conv2D(channels // SE_REDUCTION, 1, use_bias=False, name=f"{prefix}.fc1")(s)
    s = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}.bn1")(s)
    s = keras.layers.ReLU(name=f"{prefix}.relu")(s)
    s = keras.layers.Conv2D(channels, 1, use_bias=False, name=f"{prefix}.fc2")(s)
    s = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}.bn2")(s)
    s = keras.layers.Activation("sigmoid", name=f"{prefix}.sigmoid")(s)
    return keras.layers.Multiply(name=f"{prefix}.scale")([x, s])


def _depth_wise(
    x: Any,
    prefix: str,
    channels: tuple[int, int, int],
    stride: int,
    residual: bool,
    squeeze_excite: bool = False,
) -> Any:
    """Upstream Depth_Wise(_SE): 1x1 expand, 3x3 depthwise, 1x1 project (+ SE) (+ shortcut)."""
    expand, depthwise, project = channels
    shortcut = x
    y = _conv_bn(x, f"{prefix}.conv", expand, 1, 1, 0, depthwise=False, prelu=True)
    y = _conv_bn(y, f"{prefix}.conv_dw", depthwise, 3, stride, 1, depthwise=True, prelu=True)
    y = _conv_bn(y, f"{prefix}.project", project, 1, 1, 0, depthwise=False, prelu=False)
    if not residual:
        return y
    if squeeze_excite:
        y = _squeeze_excite(y, f"{prefix}.se_module", project)
    return keras.layers.Add(name=f"{prefix}.add")([shortcut, y])


def _stage(
    x: Any, prefix: str, keep: tuple[int, ...], first: int, blocks: int, squeeze_excite: bool
) -> Any:
    """A residual stage: block i uses keep[first + 3i + 1 .. first + 3i + 3]."""
    for i in range(blocks):
        base = first + 3 * i
        channels = (keep[base + 1], keep[base + 2], keep[base + 3])
        x = _depth_wise(
            x,
            f"{prefix}.model.{i}",
            channels,
            1,
            residual=True,
            squeeze_excite=squeeze_excite and i == blocks - 1,
        )
    return x


def build_minifasnet(variant: Variant, input_size: int = INPUT_SIZE) -> keras.Model:
    """The inference network (dropout omitted: identity at inference) with random weights."""
    arch = ARCHITECTURES[variant]
    keep, se = arch.keep, arch.squeeze_excite
    inputs = keras.Input((input_size, input_size, 3), batch_size=1, name="image_bgr")
    x = _conv_bn(inputs, "conv1", keep[0], 3, 2, 1, depthwise=False, prelu=True)
    x = _conv_bn(x, "conv2_dw", keep[1], 3, 1, 1, depthwise=True, prelu=True)
    x = _depth_wise(x, "conv_23", (keep[2], keep[3], keep[4]), 2, residual=False)
    x = _stage(x, "conv_3", keep, 4, 4, se)
    x = _depth_wise(x, "conv_34", (keep[17], keep[18], keep[19]), 2, residual=False)
    x = _stage(x, "conv_4", keep, 19, 6, se)
    x = _depth_wise(x, "conv_45", (keep[38], keep[39], keep[40]), 2, residual=False)
    x = _stage(x, "conv_5", keep, 40, 2, se)
    x = _conv_bn(x, "conv_6_sep", keep[47], 1, 1, 0, depthwise=False, prelu=True)
    x = _conv_bn(
        x, "conv_6_dw", keep[48], head_kernel(input_size), 1, 0, depthwise=True, prelu=False
    )
    x = keras.layers.Flatten(name="conv_6_flatten")(x)
    x = keras.layers.Dense(EMBEDDING_SIZE, use_bias=False, name="linear")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name="bn")(x)
    logits = keras.layers.Dense(NUM_CLASSES, use_bias=False, name="prob")(x)
    return keras.Model(inputs, logits, name=variant)


class WeightMismatchError(ValueError):
    """The state dict does not fit the network (missing, extra or wrongly shaped tensors)."""


def _torch_to_keras(
    layer: keras.layers.Layer, name: str, state: dict[str, NDArray[Any]]
) -> list[NDArray[Any]]:
    def take(suffix: str) -> NDArray[Any]:
        key = f"{name}.{suffix}"
        if key not in state:
            raise WeightMismatchError(f"the state dict has no {key}")
        return np.asarray(state[key], dtype=np.float32)

    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return [take("weight").transpose(2, 3, 0, 1)]  # (C,1,kh,kw) -> (kh,kw,C,1)
    if isinstance(layer, keras.layers.Conv2D):
        return [take("weight").transpose(2, 3, 1, 0)]  # (O,I,kh,kw) -> (kh,kw,I,O)
    if isinstance(layer, keras.layers.Dense):
        return [take("weight").T]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [take("weight"), take("bias"), take("running_mean"), take("running_var")]
    if isinstance(layer, keras.layers.PReLU):
        return [take("weight").reshape(1, 1, -1)]
    raise WeightMismatchError(f"no weight mapping for layer {name} ({type(layer).__name__})")


def load_torch_state(model: keras.Model, state: dict[str, NDArray[Any]]) -> None:
    """Copy a (prefix-stripped) PyTorch state dict into the model; every tensor must be used."""
    used: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        values = _torch_to_keras(layer, layer.name, state)
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise WeightMismatchError(
                f"{layer.name}: shapes {[v.shape for v in values]} do not fit {expected}"
            )
        layer.set_weights(values)
        used.update(
            k
            for k in state
            if k.startswith(f"{layer.name}.") and k.count(".") == layer.name.count(".") + 1
        )
    unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if unused:
        raise WeightMismatchError(f"tensors not used by the network: {', '.join(unused[:5])}")
