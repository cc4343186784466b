"""The public 0-100 match score and its inverse: one mapping for every response."""

from __future__ import annotations


def similarity_to_score(similarity: float) -> float:
    """The public 0-100 score of a cosine similarity: ``100 * clip(cosine, 0, 1)``.

    Linear so that anyone can convert back (cosine = score / 100 for scores above 0); cosines
    below 0 (clearly different people) all read 0.
    """
    return round(100.0 * min(1.0, max(0.0, float(similarity))), 2)


def score_to_similarity(score: float) -> float:
    """The cosine similarity a score threshold stands for (inverse of the mapping)."""
    return float(score) / 100.0
