"""The passive verdict: MiniFASNet models fused as upstream ``test.py`` does.

The softmaxes are summed and class 1 is "real"; we report the mean (sum / n) as a probability
in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.model_zoo.minifasnet import REAL_CLASS, MiniFASNet


@dataclass(frozen=True)
class PassiveResult:
    """The fused verdict for one face."""

    score: float  # mean real-class probability of the models, in [0, 1]
    probabilities: NDArray[np.float64]  # mean softmax, 3 classes


class PassiveLiveness:
    """The fused pair, as upstream: mean of the softmaxes, class 1 = real."""

    def __init__(self, models: list[MiniFASNet]) -> None:
        if not models:
            raise ValueError("at least one MiniFASNet is needed")
        self.models = models

    def check(self, image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> PassiveResult:
        """Score the face in box (x, y, w, h in pixels) of an RGB image."""
        image_bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
        mean = np.mean([m.probabilities(image_bgr, box) for m in self.models], axis=0)
        return PassiveResult(score=float(mean[REAL_CLASS]), probabilities=mean)
