"""MobileFaceNet (Chen et al., 2018): a MobileNetV2-style embedding backbone for 112x112 faces.

Bottlenecks with expansion 2 and PReLU, then a linear global depthwise conv (GDConv) instead of
global average pooling (so each position of the final map gets its own weight), a linear 1x1
conv to the embedding size and BatchNorm. ``width`` scales channels; smaller inputs work (the
GDConv kernel equals the final feature-map size).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from training.architectures.layers import BN_MOMENTUM, conv_bn, dw_bn
from training.architectures.mobilenetv2 import inverted_residual

# (expansion, channels, repeats, first stride), table 1 of the paper
FACE_CONFIG = (
    (2, 64, 5, 2),
    (4, 128, 1, 2),
    (2, 128, 6, 1),
    (4, 128, 1, 2),
    (2, 128, 2, 1),
)


def mobilefacenet(
    input_shape: tuple[int, int, int] = (112, 112, 3),
    embedding_size: int = 128,
    width: float = 1.0,
    config: tuple[tuple[int, int, int, int], ...] = FACE_CONFIG,
) -> Any:
    """The backbone: image in [-1, 1] -> embedding (not normalised; the losses normalise)."""
    inputs = keras.Input(shape=input_shape, name="face")
    stem = max(8, int(64 * width))
    x = conv_bn(inputs, stem, 3, 2, activation="prelu", name="conv1")
    x = dw_bn(x, 3, 1, activation="prelu", name="conv2")
    for stage, (t, c, n, s) in enumerate(config, start=1):
        for index in range(n):
            x = inverted_residual(
                x,
                t,
                max(8, int(c * width)),
                s if index == 0 else 1,
                name=f"b{stage}_{index}",
                activation="prelu",
            )
    x = conv_bn(x, max(16, int(512 * width)), 1, activation="prelu", name="conv_last")
    x = dw_bn(x, int(x.shape[1]), 1, activation=None, name="gdconv", padding="valid")
    x = layers.Conv2D(embedding_size, 1, use_bias=False, name="linear_conv")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="embedding_bn")(x)
    return keras.Model(inputs, x, name="mobilefacenet")
