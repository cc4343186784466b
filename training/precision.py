"""Training precision: float32, or mixed bfloat16 (float32 weights, bfloat16 compute).

On CPUs with bfloat16 units (AVX512-BF16 / AMX; oneDNN uses them through TensorFlow) mixed
bfloat16 is faster; on this project's 2-core Xeon a ResNet-20 training step (batch 128) took
220 ms against 258 ms in float32 (1.17x, `bench/training_precision.py`; its 16-64 channel
convolutions are too small to gain more); elsewhere it may be slower.
The variables stay float32, so checkpoints load and convert as before, and the logits are cast
back to float32 before the loss (bfloat16 has 8 bits of mantissa: a softmax over bfloat16
logits loses precision the loss needs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}
PRECISIONS = tuple(POLICIES)


@contextmanager
def training_precision(name: str) -> Iterator[None]:
    """Layers built inside compute in ``name``'s precision; the previous policy comes back."""
    if name not in POLICIES:
        raise ValueError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(POLICIES[name])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def with_float32_outputs(model: Any) -> Any:
    """The model with its single output cast to float32 (unchanged when already float32)."""
    output = model.outputs[0]
    if output.dtype == "float32":
        return model
    cast = keras.layers.Activation("linear", dtype="float32", name="float32_logits")(output)
    return keras.Model(model.inputs, cast, name=model.name)


def float32_copy(model: Any) -> Any:
    """The model with every layer computing in float32 and the same weights (the model itself
    when it already does): what export converts, since TFLite has no bfloat16 kernels."""
    config = model.get_config()
    plain = _as_float32(config)
    if plain == config:
        return model
    with training_precision("float32"):
        copy = model.__class__.from_config(plain)
    copy.set_weights(model.get_weights())
    return copy


def _as_float32(config: Any) -> Any:
    """A layer config with every mixed dtype policy replaced by float32."""
    if isinstance(config, dict):
        policy = config.get("config", {})
        if config.get("class_name") == "DTypePolicy" and policy.get("name") == POLICIES["bfloat16"]:
            return {**config, "config": {**policy, "name": "float32"}}
        return {key: _as_float32(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_as_float32(value) for value in config]
    if config == POLICIES["bfloat16"]:
        return "float32"
    return config
