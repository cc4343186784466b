"""SFace 2021dec: aligned face crops to unit-length embeddings, through LiteRT.

SFace takes a 112x112 RGB crop aligned on the standard 5-point template, pixel values 0-255
unnormalised (what OpenCV's ``FaceRecognizerSF.feature`` feeds it: ``blobFromImage`` with
scale 1, no mean, swapRB). Its output (128-d) is L2-normalised here, so a dot product of two
embeddings is their cosine similarity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE
from services.shared.errors import InvalidArgumentError, ModelUnavailableError
from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.runtime import LiteModel


def l2_normalise(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    """Rows scaled to unit length (a zero row stays zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return np.asarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


def aligned_batch(crops: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A batch (n, 112, 112, 3) of aligned crops (one crop gets a batch axis), or
    INVALID_ARGUMENT naming the shape."""
    batch = np.asarray(crops)
    if batch.ndim == 3:
        batch = batch[np.newaxis]
    if batch.ndim != 4 or batch.shape[1:] != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
        raise InvalidArgumentError(
            f"aligned crops must be {ALIGNED_SIZE}x{ALIGNED_SIZE} RGB, got shape {batch.shape}"
        )
    return batch


class SFace(ZooModel):
    """SFace 2021dec: aligned 112x112 RGB uint8 crops -> (n, dimension) unit vectors.

    The dimension is read from the file's one output (128 for SFace), so an embedding model
    of another size is served as it is.
    """

    task = "embedding"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        shape = self.input_shape()
        if tuple(shape[1:]) != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise ModelUnavailableError(f"{spec.key}: unexpected input shape {shape}")
        if len(runtime.output_names) != 1:
            raise ModelUnavailableError(
                f"{spec.key}: expected one output (the embedding), got {runtime.output_names}"
            )
        self.output_name = runtime.output_names[0]
        self.dimension = runtime.output_shapes[self.output_name][-1]

    def warm_up(self) -> None:
        """One embedding of a blank crop."""
        self.embed(np.zeros((1, ALIGNED_SIZE, ALIGNED_SIZE, 3), dtype=np.uint8))

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embed a batch (n, 112, 112, 3) of RGB crops; one interpreter call per crop."""
        batch = aligned_batch(crops)
        outputs = np.empty((len(batch), self.dimension), dtype=np.float32)
        for index, crop in enumerate(batch):
            tensor = crop.astype(np.float32)[np.newaxis]
            result = self.runtime.run(**{self.runtime.input_name: tensor})[self.output_name]
            outputs[index] = result.reshape(-1)
        return l2_normalise(outputs)
