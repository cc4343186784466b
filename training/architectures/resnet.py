"""Small ResNet for CIFAR (He et al., 2016, section 4.2): 3 stages of basic residual blocks.

``depth = 6n + 2`` (20, 32, 44, 56 ...); channels 16/32/64 times ``width``. Downsampling blocks
use a 1x1 strided projection shortcut.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from training.architectures.layers import conv_bn
from training.errors import TrainingError


def basic_block(x: Any, filters: int, strides: int, name: str) -> Any:
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut, then ReLU."""
    shortcut = x
    y = conv_bn(x, filters, 3, strides, name=f"{name}_a")
    y = conv_bn(y, filters, 3, 1, activation=None, name=f"{name}_b")
    if strides != 1 or int(x.shape[-1]) != filters:
        shortcut = conv_bn(x, filters, 1, strides, activation=None, name=f"{name}_proj")
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out")(y)


def resnet_small(
    input_shape: tuple[int, int, int], num_classes: int, depth: int = 20, width: float = 1.0
) -> Any:
    """ResNet-``depth`` classifier (depth = 6n + 2)."""
    if depth < 8 or (depth - 2) % 6:
        raise TrainingError(f"ResNet depth must be 6n+2 (8, 14, 20, 32 ...), not {depth}")
    blocks = (depth - 2) // 6
    inputs = keras.Input(shape=input_shape, name="image")
    x = conv_bn(inputs, int(16 * width), name="stem")
    for stage, filters in enumerate((16, 32, 64), start=1):
        for index in range(blocks):
            strides = 2 if stage > 1 and index == 0 else 1
            x = basic_block(x, int(filters * width), strides, name=f"s{stage}_b{index}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}")
