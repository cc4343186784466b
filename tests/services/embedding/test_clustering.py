"""Chinese whispers on the k-NN link graph: people found, strangers left out, incremental."""

from __future__ import annotations

import tracemalloc

import numpy as np
from numpy.typing import NDArray

from services.embedding.clustering import NOISE, cluster, extend, medoid


def people(sizes: list[int], spread: float, seed: int = 0) -> tuple[NDArray[np.float32], list[int]]:
    """Unit vectors around one random centre per person (cosine to the centre ~ 1 - spread)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for person, size in enumerate(sizes):
        centre = rng.normal(size=128)
        centre /= np.linalg.norm(centre)
        for _ in range(size):
            noise = rng.normal(size=128)
            noise -= noise @ centre * centre
            noise /= np.linalg.norm(noise)
            rows.append(np.sqrt(1 - spread**2) * centre + spread * noise)
            truth.append(person)
    return np.asarray(rows, dtype=np.float32), truth


def test_people_become_clusters_and_singletons_stay_unassigned() -> None:
    vectors, truth = people([5, 4, 3, 1, 1], spread=0.6)
    result = cluster(vectors, threshold=0.5)
    assert result.cluster_count == 3
    assert list(result.labels) == [0] * 5 + [1] * 4 + [2] * 3 + [NOISE, NOISE]
    for label, face in result.representatives.items():
        assert result.labels[face] == label
    assert truth[:12] == [0] * 5 + [1] * 4 + [2] * 3


def test_the_representative_is_the_medoid() -> None:
    centre = np.zeros(128, dtype=np.float32)
    centre[0] = 1.0
    tilt = np.zeros(128, dtype=np.float32)
    tilt[1] = 1.0
    vectors = np.stack([centre, 0.9 * centre + 0.436 * tilt, 0.9 * centre - 0.436 * tilt])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    result = cluster(vectors, threshold=0.5)
    assert result.representatives == {0: 0}


def test_the_medoid_of_a_big_cluster_takes_memory_linear_in_its_size() -> None:
    vectors, _ = people([6000], spread=0.3)
    members = np.arange(6000, dtype=np.int64)
    expected = int(np.argmax((vectors @ vectors.T).sum(axis=1)))  # the definition, 144 MB
    tracemalloc.start()
    try:
        found = medoid(vectors, members)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == expected
    assert peak < 16 * 2**20  # the vectors (3 MB) copied once, not 6000 x 6000 scores


def test_min_size_one_keeps_every_face() -> None:
    vectors, _ = people([3, 1], spread=0.6)
    result = cluster(vectors, threshold=0.5, min_size=1)
    assert result.cluster_count == 2 and NOISE not in result.labels


def test_new_faces_join_existing_clusters_and_new_people_form_new_ones() -> None:
    vectors, truth = people([4, 4, 3], spread=0.6, seed=3)
    first = cluster(vectors[:8], threshold=0.5)  # persons 0 and 1
    assert first.cluster_count == 2
    labels = np.concatenate([first.labels, np.full(3, NOISE)])
    # One more photo of person 0 and the three of person 2 arrive.
    order = [*range(8), 8, 9, 10]
    grown = extend(vectors[order], labels, threshold=0.5)
    assert grown.cluster_count == 3
    assert list(grown.labels[:8]) == list(first.labels)  # nobody moved
    assert len({int(label) for label in grown.labels[8:]}) == 1
    assert grown.labels[8] not in first.labels
    assert truth[8:] == [2, 2, 2]


def test_a_face_of_a_known_person_joins_their_cluster() -> None:
    vectors, _ = people([4, 4], spread=0.6, seed=5)
    first = cluster(vectors[[0, 1, 2, 4, 5, 6]], threshold=0.5)
    order = [0, 1, 2, 4, 5, 6, 3, 7]
    labels = np.concatenate([first.labels, [NOISE, NOISE]])
    grown = extend(vectors[order], labels, threshold=0.5)
    assert grown.labels[6] == grown.labels[0]
    assert grown.labels[7] == grown.labels[3]


def test_empty_and_single_inputs() -> None:
    assert cluster(np.zeros((0, 128), dtype=np.float32), threshold=0.5).cluster_count == 0
    one, _ = people([1], spread=0.1)
    assert list(cluster(one, threshold=0.5).labels) == [NOISE]
