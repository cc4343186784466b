"""The network the embedding recipe trains and exports: build it, find it in a model, run it.

It takes RGB 0-255 like SFace, so an exported embedder is a drop-in for the embedding service;
the [-1, 1] scaling is its first layer (``to_unit_range``), in front of the MobileFaceNet backbone.
The recipe (training/recipes/embedding.py), the evaluation (training/evaluate_embedding.py) and
``python -m training export embedding`` all reach the embedder through this module.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from numpy.typing import NDArray

from training.architectures.mobilefacenet import mobilefacenet
from training.errors import TrainingError

EMBEDDER_NAME = "embedder"


def build_embedder(input_size: int, embedding_size: int, width: float) -> Any:
    """RGB 0-255 image -> embedding (rescaling to [-1, 1] inside the model)."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    backbone = mobilefacenet((input_size, input_size, 3), embedding_size, width)
    return keras.Model(inputs, backbone(scaled), name=EMBEDDER_NAME)


def embedder_of(model: Any) -> Any:
    """The embedder inside a training model (or the model itself if it is one)."""
    if model.name == EMBEDDER_NAME:
        return model
    try:
        scale = model.get_layer("to_unit_range")
        backbone = model.get_layer("mobilefacenet")
    except ValueError as error:
        raise TrainingError(f"{model.name} has no mobilefacenet backbone") from error
    image = keras.Input(tuple(model.inputs[0].shape[1:]), name="image")
    return keras.Model(image, backbone(scale(image)), name=EMBEDDER_NAME)


def embed(embedder: Any, images: NDArray[np.uint8], batch_size: int = 64) -> NDArray[np.float32]:
    """Unit-length embeddings of uint8 RGB images."""
    vectors = embedder.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
