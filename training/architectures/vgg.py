"""VGG-style network (Simonyan & Zisserman, 2014) sized for 32x32 inputs.

Stacks of 3x3 conv + BN + ReLU, 2x2 max pooling between stages, dropout, then a fully connected
classifier: the course's "classic" CNN.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from training.architectures.layers import BN_MOMENTUM, conv_bn

DEFAULT_STAGES = ((64, 2), (128, 2), (256, 2))


def vgg_small(
    input_shape: tuple[int, int, int],
    num_classes: int,
    width: float = 1.0,
    stages: tuple[tuple[int, int], ...] = DEFAULT_STAGES,
    dense_units: int = 256,
    dropout: float = 0.3,
) -> Any:
    """VGG-style classifier; ``width`` scales every stage's channels."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for stage, (filters, repeats) in enumerate(stages, start=1):
        for index in range(1, repeats + 1):
            x = conv_bn(x, max(8, int(filters * width)), name=f"s{stage}_{index}")
        x = layers.MaxPooling2D(2, name=f"s{stage}_pool")(x)
        x = layers.Dropout(dropout * stage / len(stages), name=f"s{stage}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(max(16, int(dense_units * width)), name="fc1")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="fc1_bn")(x)
    x = layers.Activation("relu", name="fc1_relu")(x)
    x = layers.Dropout(dropout, name="fc1_drop")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="vgg")
