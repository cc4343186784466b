"""The FAR table of a trained model, from impostor pairs."""

from __future__ import annotations

import numpy as np
import pytest

from services.embedding.thresholds import FarTable
from training.errors import TrainingError
from training.thresholds import far_table_params, impostor_scores


def test_table_bounds_the_false_accept_rate() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(700), 2)
    vectors = rng.normal(size=(len(labels), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    params = far_table_params(vectors, labels)
    scores = impostor_scores(vectors, labels)
    assert params["far_table_impostor_pairs"] == len(scores) == 1400 * 1399 // 2 - 700
    table = FarTable.from_params(params, "trained")
    for far, similarity in zip(table.fars, table.similarities, strict=True):
        assert np.mean(scores >= similarity) <= far
    # 978,600 pairs measure FAR 1e-5 (9 impostors to spare) but not 1e-6; the normal tail
    # continues the table to 1e-8 for large searches.
    assert table.fars[0] == 0.1 and table.strictest_measured_far == pytest.approx(1.26e-6)
    assert table.fars[-1] == 1e-8 and table.similarities[-1] > table.similarity_at_far(1.26e-6)


def test_too_few_impostors() -> None:
    vectors = np.eye(4, dtype=np.float32)
    with pytest.raises(TrainingError, match="cannot measure FAR"):
        far_table_params(vectors, np.arange(4))


def test_embeddings_that_do_not_separate_anyone_are_a_clear_error() -> None:
    """Every impostor pair scoring the same (an untrained model) has no FAR table."""
    labels = np.arange(500)
    vectors = np.ones((500, 8), np.float32) / np.sqrt(8)
    with pytest.raises(TrainingError, match="no FAR table from the --thresholds-images"):
        far_table_params(vectors, labels)
