"""MobileNetV2 (Sandler et al., 2018) with depthwise-separable convs and inverted residuals.

Each bottleneck expands with a 1x1 conv (ReLU6), filters with a 3x3 depthwise conv (ReLU6) and
projects back with a linear 1x1 conv; the residual connects when stride is 1 and the channel
count is unchanged. For 32x32 inputs the stem and the first stages keep stride 1 (the usual
CIFAR adaptation).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from training.architectures.layers import conv_bn, dw_bn, make_divisible

# (expansion t, channels c, repeats n, first stride s), as in table 2 of the paper
CIFAR_CONFIG = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def inverted_residual(
    x: Any, expansion: int, filters: int, strides: int, name: str, activation: str = "relu6"
) -> Any:
    """Expand (1x1) -> depthwise 3x3 -> linear projection (1x1), residual when shapes match."""
    channels = int(x.shape[-1])
    y = x
    if expansion != 1:
        y = conv_bn(y, channels * expansion, 1, activation=activation, name=f"{name}_expand")
    y = dw_bn(y, 3, strides, activation=activation, name=name)
    y = conv_bn(y, filters, 1, activation=None, name=f"{name}_project")
    if strides == 1 and channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def mobilenet_v2(
    input_shape: tuple[int, int, int],
    num_classes: int,
    alpha: float = 1.0,
    config: tuple[tuple[int, int, int, int], ...] = CIFAR_CONFIG,
    dropout: float = 0.2,
) -> Any:
    """MobileNetV2 classifier; ``alpha`` is the width multiplier."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = conv_bn(inputs, make_divisible(32 * alpha), 3, 1, activation="relu6", name="stem")
    for stage, (t, c, n, s) in enumerate(config, start=1):
        for index in range(n):
            x = inverted_residual(
                x, t, make_divisible(c * alpha), s if index == 0 else 1, name=f"b{stage}_{index}"
            )
    last = make_divisible(1280 * max(alpha, 1.0))
    x = conv_bn(x, last, 1, activation="relu6", name="head")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="drop")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="mobilenetv2")
