"""Small building blocks shared by the architectures (conv + BN + activation).

BatchNorm uses momentum 0.9 rather than Keras' 0.99: the short runs this toolkit is used for
(a few hundred steps) otherwise evaluate with moving statistics still close to their
initial values, which made inference-mode embeddings near useless in our first runs.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

BN_MOMENTUM = 0.9


def conv_bn(
    x: Any,
    filters: int,
    kernel: int = 3,
    strides: int = 1,
    activation: str | None = "relu",
    name: str = "",
    weight_decay: float = 0.0,
) -> Any:
    """Conv2D (no bias, BN follows) + BatchNormalization + optional activation."""
    reg = keras.regularizers.L2(weight_decay) if weight_decay else None
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_regularizer=reg,
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if activation == "prelu":
        x = layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x)
    elif activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def dw_bn(
    x: Any,
    kernel: int = 3,
    strides: int = 1,
    activation: str | None = "relu6",
    name: str = "",
    padding: str = "same",
) -> Any:
    """DepthwiseConv2D + BatchNormalization + optional activation."""
    x = layers.DepthwiseConv2D(
        kernel, strides=strides, padding=padding, use_bias=False, name=f"{name}_dw"
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dwbn")(x)
    if activation == "prelu":
        x = layers.PReLU(shared_axes=[1, 2], name=f"{name}_dwprelu")(x)
    elif activation:
        x = layers.Activation(activation, name=f"{name}_dw{activation}")(x)
    return x


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of divisor (MobileNet's rule, never below 90%)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
