"""Face verification metrics on pairs: LFW 10-fold accuracy and TAR at fixed FAR.

10-fold accuracy follows the LFW protocol: split the pairs into 10 folds, choose the
similarity threshold that maximises accuracy on 9 folds, measure on the held-out fold; report
mean and standard deviation. TAR@FAR: the threshold that accepts at most ``FAR`` of the
different-person pairs, and the share of same-person pairs it accepts; a FAR below
``1 / impostor pairs`` cannot be measured and is reported as None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


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


def ten_fold_accuracy(
    scores: NDArray[np.floating], same: NDArray[np.bool_], folds: int = 10, seed: int = 0
) -> tuple[float, float, float]:
    """(mean accuracy, std, threshold on all pairs) with thresholds chosen on the other folds."""
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    order = np.random.default_rng(seed).permutation(len(scores))
    parts = np.array_split(order, folds)
    accuracies = []
    for index, test in enumerate(parts):
        train = np.concatenate([p for i, p in enumerate(parts) if i != index])
        threshold = best_threshold(scores[train], same[train])
        accuracies.append(float(np.mean((scores[test] >= threshold) == same[test])))
    return float(np.mean(accuracies)), float(np.std(accuracies)), best_threshold(scores, same)


def tar_at_far(scores: NDArray[np.floating], same: NDArray[np.bool_], far: float) -> float | None:
    """True-accept rate at the threshold that lets through at most ``far`` of impostors."""
    impostors = np.sort(np.asarray(scores)[~np.asarray(same)])[::-1]
    genuine = np.asarray(scores)[np.asarray(same)]
    if len(impostors) == 0 or len(genuine) == 0 or far * len(impostors) < 1:
        return None
    allowed = int(np.floor(far * len(impostors)))
    # accept strictly above the (allowed+1)-th highest impostor: at most `allowed` get through
    threshold = impostors[allowed] if allowed < len(impostors) else -np.inf
    return float(np.mean(genuine > threshold))


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
