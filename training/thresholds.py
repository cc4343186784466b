"""Decision thresholds of an embedding model at fixed false-accept rates.

The embedding service refuses a model without ``similarity_far_1e3/1e4/1e5`` in its manifest
params (cosine similarity at FAR 1e-3, 1e-4, 1e-5). They are measured here the way
``evaluation/verify_thresholds.py`` does for SFace: every pair of images of different people in
a folder-per-identity set is an impostor pair; the threshold at FAR f lets through at most
``f`` of them. A FAR needing more impostor pairs than the set has is an error, not a guess.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from training.errors import TrainingError

FARS = {"similarity_far_1e3": 1e-3, "similarity_far_1e4": 1e-4, "similarity_far_1e5": 1e-5}


def impostor_scores(vectors: NDArray[np.float32], labels: NDArray[np.int64]) -> NDArray[np.float32]:
    """Cosine similarity of every pair of unit vectors with different labels."""
    similarity = vectors @ vectors.T
    upper = np.triu(np.ones(similarity.shape, dtype=bool), k=1)
    different = labels[:, None] != labels[None, :]
    return np.asarray(similarity[upper & different], dtype=np.float32)


def far_thresholds(vectors: NDArray[np.float32], labels: NDArray[np.int64]) -> dict[str, float]:
    """The manifest params: cosine threshold at each FAR (accept when similarity > threshold)."""
    scores = np.sort(impostor_scores(vectors, labels))[::-1]
    result: dict[str, float] = {}
    for name, far in FARS.items():
        allowed = int(np.floor(far * len(scores)))
        if allowed < 1:
            raise TrainingError(
                f"{len(scores)} impostor pairs cannot measure FAR {far:g} (need "
                f"{int(np.ceil(1 / far))}+); use a larger --thresholds-images set"
            )
        result[name] = round(float(scores[allowed]), 4)
    result["impostor_pairs"] = len(scores)
    return result
