"""Generated images for the training tests: learnable colour/stripe classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

CLASSES = ("red", "green", "blue")


def class_images(label: int, count: int, size: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Noisy images whose dominant colour channel is the label (learnable in a few steps)."""
    images = rng.integers(0, 90, size=(count, size, size, 3))
    images[..., label % 3] += 150
    stripe = (label // 3) % 2
    if stripe:
        images[:, ::4] = 255
    return np.clip(images, 0, 255).astype(np.uint8)


def write_folder(root: Path, classes: int, per_class: int, size: int, seed: int = 0) -> Path:
    """Folder-per-class JPEGs: root/<class>/<n>.png (PNG keeps the colours exact)."""
    rng = np.random.default_rng(seed)
    for label in range(classes):
        folder = root / f"class_{label:02d}"
        folder.mkdir(parents=True)
        for index, image in enumerate(class_images(label, per_class, size, rng)):
            Image.fromarray(image).save(folder / f"{index:03d}.png")
    return root
