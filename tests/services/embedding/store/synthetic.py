"""Synthetic embeddings and image hashes for the gallery store tests."""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

DIMENSION = 128


class FaceMaker:
    """Synthetic embeddings and image hashes for the tests."""

    dimension = DIMENSION

    @staticmethod
    def unit_vectors(count: int, seed: int) -> NDArray[np.float32]:
        """Random unit vectors (nearly orthogonal to each other in 128-d)."""
        vectors = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
        unit: NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit

    @staticmethod
    def near(vector: NDArray[np.float32], seed: int, noise: float = 0.3) -> NDArray[np.float32]:
        """Another photo of the same face: the vector plus some noise (cosine ~0.95)."""
        jitter = np.random.default_rng(seed).normal(size=vector.shape).astype(np.float32)
        return (vector + noise * jitter / np.linalg.norm(jitter)).astype(np.float32)

    @staticmethod
    def sha(value: object) -> str:
        """A stand-in image sha256."""
        return hashlib.sha256(repr(value).encode()).hexdigest()
