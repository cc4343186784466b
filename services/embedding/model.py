"""The embedding model: SFace 2021dec (128-d) through LiteRT, and the score mapping.

SFace takes a 112x112 RGB crop aligned on the standard 5-point template, pixel values 0-255
unnormalised (what OpenCV's ``FaceRecognizerSF.feature`` feeds it: ``blobFromImage`` with
scale 1, no mean, swapRB). Its 128-d output is L2-normalised here, so a dot product of two
embeddings is their cosine similarity.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE
from services.shared.errors import InvalidArgumentError
from services.shared.runtime import LiteModel

EMBEDDING_SIZE = 128


def l2_normalise(vectors: NDArray[np.floating]) -> NDArray[np.float32]:
    """Rows scaled to unit length (a zero row stays zero)."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return np.asarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


def similarity_to_score(similarity: float) -> float:
    """The public 0-100 score of a cosine similarity: ``100 * clip(cosine, 0, 1)``.

    Linear so that anyone can convert back (cosine = score / 100 for scores above 0); cosines
    below 0 (clearly different people) all read 0.
    """
    return round(100.0 * min(1.0, max(0.0, float(similarity))), 2)


def score_to_similarity(score: float) -> float:
    """The cosine similarity a score threshold stands for (inverse of the mapping)."""
    return float(score) / 100.0


class SFace:
    """SFace 2021dec: aligned 112x112 RGB uint8 crops -> (n, 128) unit vectors."""

    def __init__(self, model: LiteModel) -> None:
        self.model = model
        shape = model.input_shapes[model.input_name]
        if tuple(shape[1:]) != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise ValueError(f"unexpected SFace input shape {shape}")
        self.output_name = next(
            name for name in model.output_names if model.output_shapes[name][-1] == EMBEDDING_SIZE
        )

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embed a batch (n, 112, 112, 3) of RGB crops; one interpreter call per crop."""
        batch = np.asarray(crops)
        if batch.ndim == 3:
            batch = batch[np.newaxis]
        if batch.ndim != 4 or batch.shape[1:] != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise InvalidArgumentError(
                f"aligned crops must be {ALIGNED_SIZE}x{ALIGNED_SIZE} RGB, got shape {batch.shape}"
            )
        outputs = np.empty((len(batch), EMBEDDING_SIZE), dtype=np.float32)
        for index, crop in enumerate(batch):
            tensor = crop.astype(np.float32)[np.newaxis]
            result = self.model.run(**{self.model.input_name: tensor})[self.output_name]
            outputs[index] = result.reshape(-1)
        return l2_normalise(outputs)
