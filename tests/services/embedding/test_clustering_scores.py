"""The clustering scores of evaluation/clustering.py against hand-counted cases."""

from __future__ import annotations

import itertools

import pytest

from evaluation.clustering import NOISE, bcubed_scores, pairwise_scores, scores


def brute_pairwise(truth: list[str], predicted: list[int]) -> tuple[float, float]:
    """Precision and recall by looking at every pair (unassigned faces pair with no one)."""
    same_cluster = same_person = both = 0
    for (t1, p1), (t2, p2) in itertools.combinations(zip(truth, predicted, strict=True), 2):
        together = p1 == p2 and p1 != NOISE
        same_cluster += together
        same_person += t1 == t2
        both += together and t1 == t2
    return both / same_cluster, both / same_person


def test_pairwise_scores_count_pairs() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    predicted = [0, 0, 1, 1, 1, NOISE]
    found = pairwise_scores(truth, predicted)
    # Pairs in one cluster: (0,1), (2,3), (2,4), (3,4): one person in (0,1) and (3,4).
    assert found["precision"] == pytest.approx(2 / 4)
    # Pairs of one person: a has 3, b has 1: (0,1) and (3,4) are together.
    assert found["recall"] == pytest.approx(2 / 4)
    assert (found["precision"], found["recall"]) == pytest.approx(brute_pairwise(truth, predicted))


def test_unassigned_faces_are_never_paired() -> None:
    truth = ["a", "a", "b", "b"]
    found = pairwise_scores(truth, [NOISE, NOISE, NOISE, NOISE])
    assert found["recall"] == 0.0 and found["precision"] == 1.0  # no pair claimed
    assert pairwise_scores(truth, [0, 0, 1, 1])["f1"] == 1.0


def test_bcubed_scores_average_over_faces() -> None:
    truth = ["a", "a", "b"]
    predicted = [0, 0, 0]  # one cluster of three
    found = bcubed_scores(truth, predicted)
    # Precision: a-faces see 2/3 of their cluster as a, the b-face 1/3.
    assert found["precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)
    assert found["recall"] == pytest.approx(1.0)
    split = bcubed_scores(truth, [0, NOISE, 1])
    assert split["precision"] == pytest.approx(1.0)
    assert split["recall"] == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)


def test_scores_count_clusters_and_unassigned() -> None:
    found = scores(["a", "a", "b", "c"], [3, 3, NOISE, 7])
    assert (found["clusters"], found["unassigned"]) == (2, 1)
