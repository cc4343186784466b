"""FAR thresholds from impostor pairs."""

from __future__ import annotations

import numpy as np
import pytest

from training.errors import TrainingError
from training.thresholds import far_thresholds, impostor_scores


def test_thresholds_bound_the_false_accept_rate() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(700), 2)
    vectors = rng.normal(size=(len(labels), 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    params = far_thresholds(vectors, labels)
    scores = impostor_scores(vectors, labels)
    assert params["impostor_pairs"] == len(scores) == 1400 * 1399 // 2 - 700
    for name, far in (("similarity_far_1e3", 1e-3), ("similarity_far_1e4", 1e-4)):
        assert np.mean(scores > params[name]) <= far + 1e-6
    ordered = [params[f"similarity_far_1e{k}"] for k in (3, 4, 5)]
    assert ordered == sorted(ordered)


def test_too_few_impostors() -> None:
    vectors = np.eye(4, dtype=np.float32)
    with pytest.raises(TrainingError, match="cannot measure FAR"):
        far_thresholds(vectors, np.arange(4))
