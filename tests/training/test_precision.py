"""``float32_copy``: a model trained in mixed bfloat16 becomes the float32 model export converts."""

from __future__ import annotations

import keras
import numpy as np

from training.precision import float32_copy, training_precision


def _small_net() -> keras.Model:
    image = keras.Input((8, 8, 1))
    inner = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.Flatten()], name="body")
    logits = keras.layers.Dense(3)(inner(image))
    return keras.Model(image, keras.layers.Softmax(dtype="float32")(logits))


def _policies(model: keras.Model) -> set[str]:
    """The dtype policies of every layer, nested models' layers included."""
    names = set()
    for layer in model.layers:
        names.add(layer.dtype_policy.name)
        if isinstance(layer, keras.Model):
            names |= _policies(layer)
    return names


def test_a_mixed_model_is_copied_to_float32_with_its_weights() -> None:
    with training_precision("bfloat16"):
        mixed = _small_net()
    assert "mixed_bfloat16" in _policies(mixed)
    plain = float32_copy(mixed)
    assert _policies(plain) == {"float32"}
    for a, b in zip(mixed.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(plain.predict(x, verbose=0), mixed.predict(x, verbose=0), atol=2e-2)
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_float32_model_is_returned_as_it_is() -> None:
    model = _small_net()
    assert float32_copy(model) is model
