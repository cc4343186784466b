"""Aligned face crops of a real face for the embedder tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import align_face
from tests.helpers import images

# The astronaut's five YuNet points (eyes, nose tip, mouth corners) in skimage's 512x512 photo.
ASTRONAUT_LANDMARKS = np.array(
    [[198.0, 110.0], [240.0, 108.0], [220.0, 133.0], [203.0, 155.0], [237.0, 154.0]]
)


def astronaut_crops(count: int = 3) -> NDArray[np.uint8]:
    """Aligned 112x112 crops of one real face, the landmarks jittered a little."""
    rng = np.random.default_rng(0)
    return np.stack(
        [
            align_face(images.astronaut(), ASTRONAUT_LANDMARKS + rng.normal(0, 2.0, (5, 2)))
            for _ in range(count)
        ]
    )
