"""Folder-per-class (or folder-per-identity) image datasets.

Layout: ``root/<class name>/<image>.{jpg,jpeg,png,bmp}``. Class indices follow the sorted folder
names. Every deviation (missing root, no class folders, images loose in the root, an empty
class folder, too few classes or images per class) is a :class:`DatasetLayoutError` that says
what was found and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from training.errors import DatasetLayoutError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
EXPECTED = "expected root/<class>/<image>.jpg (one sub-folder per class)"


@dataclass(frozen=True)
class ImageFolder:
    """Image paths with their integer labels and the class names (index = label)."""

    paths: list[Path]
    labels: NDArray[np.int64]
    classes: list[str]

    def __len__(self) -> int:
        return len(self.paths)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def scan_image_folder(
    root: Path,
    min_classes: int = 2,
    min_per_class: int = 1,
    limit_per_class: int | None = None,
    skip_small: bool = False,
) -> ImageFolder:
    """Read a folder-per-class dataset; raise DatasetLayoutError when the layout is wrong.

    ``skip_small`` drops classes with fewer than ``min_per_class`` images instead of failing
    (used for identity datasets such as LFW, where many people have one photo).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"dataset folder {root} does not exist ({EXPECTED})")
    loose = _images_in(root)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if loose and not class_dirs:
        raise DatasetLayoutError(
            f"{root} holds {len(loose)} images directly but no class sub-folders ({EXPECTED})"
        )
    if not class_dirs:
        raise DatasetLayoutError(f"{root} has no class sub-folders ({EXPECTED})")
    paths: list[Path] = []
    labels: list[int] = []
    classes: list[str] = []
    for folder in class_dirs:
        images = _images_in(folder)
        if len(images) < min_per_class:
            if skip_small:
                continue
            raise DatasetLayoutError(
                f"class folder {folder} has {len(images)} images; at least {min_per_class} "
                f"needed ({EXPECTED})"
            )
        if limit_per_class is not None:
            images = images[:limit_per_class]
        label = len(classes)
        classes.append(folder.name)
        paths.extend(images)
        labels.extend([label] * len(images))
    if len(classes) < min_classes:
        raise DatasetLayoutError(
            f"{root} has {len(classes)} usable class folders; at least {min_classes} needed "
            f"({EXPECTED})"
        )
    return ImageFolder(paths=paths, labels=np.asarray(labels, dtype=np.int64), classes=classes)


def load_image(path: Path, size: tuple[int, int] | None = None) -> NDArray[np.uint8]:
    """Decode an image file to RGB uint8 (H, W, 3), optionally resized to size=(w, h)."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
            if size is not None and rgb.size != size:
                rgb = rgb.resize(size, Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except OSError as error:
        raise DatasetLayoutError(f"{path} is not a readable image: {error}") from error


def load_images(paths: list[Path], size: tuple[int, int] | None = None) -> NDArray[np.uint8]:
    """Decode many images into one (N, H, W, 3) uint8 array (all must share a size)."""
    arrays = [load_image(p, size) for p in paths]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DatasetLayoutError(
            f"images have different sizes {sorted(shapes)[:3]}...; pass an image size to resize"
        )
    return np.stack(arrays) if arrays else np.zeros((0, 0, 0, 3), dtype=np.uint8)
