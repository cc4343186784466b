"""The real embedding service process with its clustering slowed down, for restart tests.

``python -m tests.helpers.slow_embedding_service`` runs ``services.embedding.server.main``
after replacing ``clustering.link_graph`` with one that first spends
``FACEFLOW_TEST_CLUSTER_DELAY`` seconds (default 60) reporting progress in small steps: a
clustering job of a few dozen faces then stays RUNNING long enough for a test to kill the
process in the middle of it. Nothing else changes; the restarted process is the plain service.
"""

from __future__ import annotations

import os
import time

import numpy as np
from numpy.typing import NDArray

from services.embedding import clustering
from services.embedding.server import main

STEPS = 100
ORIGINAL_LINK_GRAPH = clustering.link_graph


def slow_link_graph(
    vectors: NDArray[np.float32],
    threshold: float,
    neighbours: int = clustering.NEIGHBOURS,
    progress: clustering.Progress = clustering.no_progress,
) -> list[dict[int, float]]:
    """``link_graph`` after reporting progress up to half way over the delay."""
    delay = float(os.environ.get("FACEFLOW_TEST_CLUSTER_DELAY", "60"))
    for step in range(STEPS):
        progress(0.5 * step / STEPS)
        time.sleep(delay / STEPS)
    return ORIGINAL_LINK_GRAPH(vectors, threshold, neighbours, progress)


if __name__ == "__main__":
    clustering.link_graph = slow_link_graph
    main()
