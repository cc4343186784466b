"""Group face embeddings into people without labels: Chinese whispers on a k-NN graph.

Why this algorithm: the number of people is unknown, most people in an album appear a few
times and many once, and the embedding model comes with a measured impostor table, so "two
faces are linked when their cosine is above the threshold at a chosen false-accept rate" is a
threshold with a meaning. Chinese whispers (Biemann 2006; dlib's ``chinese_whispers``, which
face_recognition's clustering example uses) turns those links into clusters in near-linear
time: every face repeatedly takes the label that weighs most among its linked neighbours, so a
cluster forms around dense groups of links and one stray link rarely merges two people (unlike
single-linkage or DBSCAN chaining). The graph keeps each face's ``NEIGHBOURS`` most similar
faces (exact inner products through FAISS), so 10,000 faces need 10,000 x 50 edges, not 10^8.

A face with no link (or in a cluster smaller than ``min_size``) is noise: left unassigned.
Each cluster's representative is its medoid (the member most similar, on average, to the
others). Incremental: new faces join the cluster that weighs most among their links to faces
already clustered; the rest (and earlier noise) are clustered among themselves.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np
from numpy.typing import NDArray

NEIGHBOURS = 50
MAX_ROUNDS = 30
NOISE = -1
SEARCH_CHUNK = 2048
"""Faces whose neighbours one FAISS search finds (progress is reported between chunks)."""
GRAPH_SHARE = 0.6
"""The share of the progress scale the link graph takes (the propagation rounds the rest)."""

Progress = Callable[[float], None]
"""Called with the fraction done, 0 to 1; it may raise to abandon the work."""


def no_progress(_fraction: float) -> None:
    """The default ``Progress``: nothing to report to."""


@dataclass(frozen=True)
class Clustering:
    """A label per face (``NOISE`` = unassigned) and each cluster's representative face."""

    labels: NDArray[np.int64]
    representatives: dict[int, int]  # cluster label -> index of its medoid face

    @property
    def cluster_count(self) -> int:
        """Number of clusters (noise excluded)."""
        return len(self.representatives)


def link_graph(
    vectors: NDArray[np.float32],
    threshold: float,
    neighbours: int = NEIGHBOURS,
    progress: Progress = no_progress,
) -> list[dict[int, float]]:
    """For each face, its most similar faces with cosine >= threshold (symmetric weights)."""
    count = len(vectors)
    links: list[dict[int, float]] = [{} for _ in range(count)]
    if count < 2:
        return links
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    k = min(count, neighbours + 1)
    for start in range(0, count, SEARCH_CHUNK):
        similarities, found = index.search(data[start : start + SEARCH_CHUNK], k)
        for offset in range(len(found)):
            row = start + offset
            for similarity, column in zip(similarities[offset], found[offset], strict=True):
                if column < 0 or column == row or similarity < threshold:
                    continue
                weight = float(similarity)
                links[row][int(column)] = weight
                links[int(column)][row] = weight
        progress(min(1.0, (start + SEARCH_CHUNK) / count))
    return links


def chinese_whispers(
    links: list[dict[int, float]], seed: int = 0, progress: Progress = no_progress
) -> NDArray[np.int64]:
    """Label propagation: each node takes its neighbours' heaviest label until none changes."""
    labels = np.arange(len(links), dtype=np.int64)
    order = list(range(len(links)))
    shuffler = random.Random(seed)
    for round_number in range(MAX_ROUNDS):
        progress(round_number / MAX_ROUNDS)
        shuffler.shuffle(order)
        changed = False
        for node in order:
            if not links[node]:
                continue
            weights: dict[int, float] = defaultdict(float)
            for neighbour, weight in links[node].items():
                weights[int(labels[neighbour])] += weight
            best = max(weights.items(), key=lambda item: (item[1], -item[0]))[0]
            if best != labels[node]:
                labels[node] = best
                changed = True
        if not changed:
            break
    return labels


def medoid(vectors: NDArray[np.float32], members: NDArray[np.int64]) -> int:
    """The member with the highest mean cosine to the cluster's members.

    The sum of member i's cosines, sum_j <v_i, v_j>, is <v_i, sum_j v_j>: one product with the
    cluster's sum vector, memory linear in the cluster's size (the n x n matrix of a
    10,000-face cluster was 400 MB)."""
    block = vectors[members]
    scores = block @ block.sum(axis=0)
    return int(members[int(np.argmax(scores))])


def finish(
    vectors: NDArray[np.float32], raw_labels: NDArray[np.int64], min_size: int
) -> Clustering:
    """Renumber clusters 0..k-1 by size (largest first), small ones to noise, pick medoids."""
    groups: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(raw_labels):
        if label != NOISE:
            groups[int(label)].append(index)
    kept = sorted(
        (members for members in groups.values() if len(members) >= min_size),
        key=lambda members: (-len(members), members[0]),
    )
    labels = np.full(len(raw_labels), NOISE, dtype=np.int64)
    representatives: dict[int, int] = {}
    for label, members in enumerate(kept):
        array = np.asarray(members, dtype=np.int64)
        labels[array] = label
        representatives[label] = medoid(vectors, array)
    return Clustering(labels, representatives)


def _stages(progress: Progress) -> tuple[Progress, Progress]:
    """``progress`` split in two: the link graph's share, then the propagation's."""

    def graph(fraction: float) -> None:
        progress(GRAPH_SHARE * fraction)

    def propagation(fraction: float) -> None:
        progress(GRAPH_SHARE + (1.0 - GRAPH_SHARE) * fraction)

    return graph, propagation


def cluster(
    vectors: NDArray[np.float32],
    threshold: float,
    min_size: int = 2,
    seed: int = 0,
    progress: Progress = no_progress,
) -> Clustering:
    """Cluster unit-length embeddings; faces linked at cosine >= threshold."""
    if min_size < 1:
        raise ValueError("min_size must be at least 1")
    graph_progress, propagation_progress = _stages(progress)
    links = link_graph(vectors, threshold, progress=graph_progress)
    raw = chinese_whispers(links, seed, propagation_progress)
    isolated = np.array([not neighbours for neighbours in links], dtype=bool)
    raw[isolated & (min_size > 1)] = NOISE
    return finish(vectors, raw, min_size)


def extend(
    vectors: NDArray[np.float32],
    labels: NDArray[np.int64],
    threshold: float,
    min_size: int = 2,
    seed: int = 0,
    progress: Progress = no_progress,
) -> Clustering:
    """Cluster again after new faces were appended (their labels ``NOISE`` on entry).

    Faces already in a cluster stay in it (their labels are kept, only renumbered); a new or
    unassigned face joins the cluster that weighs most among its links to clustered faces;
    the faces left over are clustered among themselves.
    """
    if min_size < 1:
        raise ValueError("min_size must be at least 1")
    graph_progress, propagation_progress = _stages(progress)
    links = link_graph(vectors, threshold, progress=graph_progress)
    raw = np.array(labels, dtype=np.int64)
    pending = [index for index in range(len(raw)) if raw[index] == NOISE]
    for index in pending:
        weights: dict[int, float] = defaultdict(float)
        for neighbour, weight in links[index].items():
            if labels[neighbour] != NOISE:
                weights[int(labels[neighbour])] += weight
        if weights:
            raw[index] = max(weights.items(), key=lambda item: (item[1], -item[0]))[0]
    leftover = np.asarray([i for i in pending if raw[i] == NOISE], dtype=np.int64)
    if len(leftover):
        position = {int(face): n for n, face in enumerate(leftover)}
        sub_links = [
            {position[j]: w for j, w in links[int(face)].items() if j in position}
            for face in leftover
        ]
        sub = chinese_whispers(sub_links, seed, propagation_progress)
        offset = int(raw.max()) + 1 if len(raw) else 0
        for n, face in enumerate(leftover):
            raw[face] = NOISE if (not sub_links[n] and min_size > 1) else offset + int(sub[n])
    return finish(vectors, raw, min_size)
