"""FLOP and parameter formulas against Keras' count_params and TensorFlow's per-op statistics."""

from __future__ import annotations

import keras
import pytest

from training.architectures import NAMES, build
from training.architectures.mobilefacenet import mobilefacenet
from training.flops import count_model, tensorflow_flops


def test_hand_computed_counts() -> None:
    """A conv, a depthwise conv and a dense layer, counted by hand with the course formulas."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 3*3*3*4+4 params, 3*3*3*4*64 MACs
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)  # 3*3*4+4, 3*3*4*16
    x = keras.layers.BatchNormalization()(x)  # 4*4 params
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(5)(x)  # 64*5+5, 64*5
    count = count_model(keras.Model(inputs, outputs))
    assert count.params == (108 + 4) + (36 + 4) + 16 + (320 + 5)
    assert count.macs == 6912 + 576 + 320
    assert count.params_match
    assert tensorflow_flops(keras.Model(inputs, outputs)) == count.flops


@pytest.mark.parametrize("name", NAMES)
def test_architectures_match_keras_and_tensorflow(name: str) -> None:
    model = build(name, (32, 32, 3), 10, **({"depth": 8} if name == "resnet" else {}))
    count = count_model(model)
    assert count.params == model.count_params()
    assert count.flops == tensorflow_flops(model)
    assert count.macs > 0


def test_mobilefacenet_matches() -> None:
    model = mobilefacenet((64, 64, 3), embedding_size=32, width=0.25)
    count = count_model(model)
    assert count.params == model.count_params()
    assert count.flops == tensorflow_flops(model)
    assert model.output.shape[-1] == 32


def test_full_mobilefacenet_size() -> None:
    """The paper's MobileFaceNet has about 0.99 M parameters and 221 M MACs at 112x112."""
    count = count_model(mobilefacenet())
    assert 0.9e6 < count.params < 1.1e6
    assert 200e6 < count.macs < 240e6
