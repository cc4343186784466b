"""The impostor-score table of a freshly trained embedding model, for its manifest.

The embedding service refuses a model without a FAR table in its manifest params (see
``services.embedding.thresholds.FarTable``, which also measures it). Every pair of images of
different people in a folder-per-identity set is an impostor pair; the table is measured from
FAR 1e-1 down to the smallest FAR the set can measure, which must reach 1e-5 (the strictest
/verify threshold; a set too small for that is an error, not a guess), and continued to 1e-8
along the normal fit of the scores (``FarTable.with_normal_tail``) for large searches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.embedding.thresholds import VERIFY_FARS, FarTable, table_fars
from training.errors import TrainingError


def impostor_scores(vectors: NDArray[np.float32], labels: NDArray[np.int64]) -> NDArray[np.float32]:
    """Cosine similarity of every pair of unit vectors with different labels."""
    similarity = vectors @ vectors.T
    upper = np.triu(np.ones(similarity.shape, dtype=bool), k=1)
    different = labels[:, None] != labels[None, :]
    return np.asarray(similarity[upper & different], dtype=np.float32)


def far_table_params(vectors: NDArray[np.float32], labels: NDArray[np.int64]) -> dict[str, Any]:
    """The manifest params of the FAR table measured on these embeddings."""
    scores = impostor_scores(vectors, labels)
    strictest = min(VERIFY_FARS.values())
    if len(scores) * strictest < 1:
        raise TrainingError(
            f"{len(scores)} impostor pairs cannot measure FAR {strictest:g} (need "
            f"{int(np.ceil(1 / strictest))}+); use a larger --thresholds-images set"
        )
    try:
        measured = FarTable.measure(scores, len(scores), table_fars())
        table = measured.with_normal_tail(float(scores.mean()), float(scores.std()))
    except ValueError as error:  # e.g. every impostor pair scored the same
        raise TrainingError(
            f"no FAR table from the --thresholds-images embeddings: {error}"
        ) from error
    return table.params()
