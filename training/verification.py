"""Face verification metrics on pairs: LFW 10-fold accuracy and TAR at fixed FAR.

The one home of these metrics: the training recipes, the benchmarks and the evaluations
(``evaluation/lfw_accuracy.py`` and its siblings) all use it.

- 10-fold accuracy follows the LFW protocol: split the pairs into 10 folds, choose the
  similarity threshold that maximises accuracy on 9 folds, measure on the held-out fold;
  report mean and standard deviation. The folds are stratified and deterministic: the
  same-person pairs, then the different-person pairs, are dealt round-robin to folds 0-9 (for
  LFW View 1's 500 + 500 pairs that is fold ``i % 10`` of pair ``i``; no fold is empty while
  there are 10 pairs or more).
- TAR@FAR: the threshold that accepts at most ``FAR`` of the different-person pairs
  (``services.embedding.thresholds.threshold_at_far``, as for the served thresholds), and the
  share of same-person pairs it accepts; a FAR below ``1 / impostor pairs`` cannot be measured
  and is reported as None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.embedding.thresholds import threshold_at_far
from training.errors import TrainingError


@dataclass(frozen=True)
class VerificationReport:
    """Accuracy over folds and TAR at each FAR."""

    accuracy: float
    accuracy_std: float
    threshold: float
    tar_at_far: dict[float, float | None]
    pairs: int

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "accuracy": self.accuracy,
            "accuracy_std": self.accuracy_std,
            "threshold": self.threshold,
            "tar_at_far": {f"{far:g}": tar for far, tar in self.tar_at_far.items()},
            "pairs": self.pairs,
        }


def best_threshold(scores: NDArray[np.floating], same: NDArray[np.bool_]) -> float:
    """The threshold (a midpoint between sorted scores) with the highest accuracy."""
    candidates = np.unique(scores)
    if len(candidates) > 1:
        midpoints = (candidates[1:] + candidates[:-1]) / 2
        candidates = np.concatenate([[candidates[0] - 1e-6], midpoints])
    accuracies = [np.mean((scores >= t) == same) for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def check_foldable(same: NDArray[np.bool_], folds: int = 10) -> None:
    """TrainingError unless there are at least ``folds`` pairs, both same and different ones
    (fewer leave a fold empty; one kind alone has no threshold to choose)."""
    same = np.asarray(same, dtype=bool)
    genuine = int(same.sum())
    if len(same) < folds or genuine == 0 or genuine == len(same):
        raise TrainingError(
            f"{folds}-fold verification needs at least {folds} pairs with both same-person and "
            f"different-person pairs; got {genuine} same and {len(same) - genuine} different"
        )


def ten_fold_accuracy(
    scores: NDArray[np.floating], same: NDArray[np.bool_], folds: int = 10
) -> tuple[float, float, float]:
    """(mean accuracy, std, threshold on all pairs) with thresholds chosen on the other folds."""
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    check_foldable(same, folds)
    # Round-robin over the same-person pairs, then on over the different-person ones.
    fold_of = np.empty(len(scores), dtype=np.int64)
    fold_of[np.concatenate([np.nonzero(same)[0], np.nonzero(~same)[0]])] = (
        np.arange(len(scores)) % folds
    )
    accuracies = []
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        threshold = best_threshold(scores[train], same[train])
        accuracies.append(float(np.mean((scores[test] >= threshold) == same[test])))
    return float(np.mean(accuracies)), float(np.std(accuracies)), best_threshold(scores, same)


def tar_at_far(scores: NDArray[np.floating], same: NDArray[np.bool_], far: float) -> float | None:
    """True-accept rate at the threshold that lets through at most ``far`` of impostors."""
    impostors = np.asarray(scores, dtype=np.float64)[~np.asarray(same)]
    genuine = np.asarray(scores, dtype=np.float64)[np.asarray(same)]
    if len(impostors) == 0 or len(genuine) == 0 or far * len(impostors) < 1:
        return None
    threshold = threshold_at_far(np.sort(impostors)[::-1], len(impostors), far)
    return None if threshold is None else float(np.mean(genuine >= threshold))


def evaluate_scores(
    scores: NDArray[np.floating],
    same: NDArray[np.bool_],
    fars: tuple[float, ...] = (1e-1, 1e-2, 1e-3),
) -> VerificationReport:
    """Accuracy (10-fold) and TAR@FAR for similarity scores of pairs."""
    accuracy, std, threshold = ten_fold_accuracy(scores, same)
    return VerificationReport(
        accuracy=accuracy,
        accuracy_std=std,
        threshold=threshold,
        tar_at_far={far: tar_at_far(scores, same, far) for far in fars},
        pairs=len(same),
    )
