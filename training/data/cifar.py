"""CIFAR-10 from a local folder, in either of its two common layouts.

1. The official Python batches: ``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``
   (``root`` may be that folder or its parent).
2. JPEG files, folder per class with a split: ``root/train/<class>/*.jpg`` and
   ``root/test/<class>/*.jpg`` (the layout of ../shared/data/cifar10 once unpacked).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from training.data.folders import load_images, scan_image_folder
from training.errors import DatasetLayoutError

Split = Literal["train", "test"]
BATCHES_DIR = "cifar-10-batches-py"
LAYOUTS = (
    "expected either cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} or "
    "train/<class>/*.jpg and test/<class>/*.jpg"
)


@dataclass(frozen=True)
class ArrayDataset:
    """Images (N, 32, 32, 3) uint8, labels (N,) int64, class names."""

    images: NDArray[np.uint8]
    labels: NDArray[np.int64]
    classes: list[str]


def _batches_dir(root: Path) -> Path | None:
    for candidate in (root, root / BATCHES_DIR):
        if (candidate / "batches.meta").is_file():
            return candidate
    return None


def _unpickle(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DatasetLayoutError(f"{path} is missing ({LAYOUTS})")
    with path.open("rb") as handle:
        try:
            data: dict[Any, Any] = pickle.load(handle, encoding="bytes")
        except (pickle.UnpicklingError, EOFError) as error:
            raise DatasetLayoutError(f"{path} is not a CIFAR-10 batch file: {error}") from error
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _load_batches(folder: Path, split: Split, limit_per_class: int | None) -> ArrayDataset:
    meta = _unpickle(folder / "batches.meta")
    classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta["label_names"]]
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images: list[NDArray[np.uint8]] = []
    labels: list[NDArray[np.int64]] = []
    for name in names:
        batch = _unpickle(folder / name)
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise DatasetLayoutError(f"{folder / name}: data has shape {data.shape}, not (N, 3072)")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    all_images = np.concatenate(images)
    all_labels = np.concatenate(labels)
    if limit_per_class is not None:
        keep = np.concatenate(
            [np.flatnonzero(all_labels == c)[:limit_per_class] for c in range(len(classes))]
        )
        keep.sort()
        all_images, all_labels = all_images[keep], all_labels[keep]
    return ArrayDataset(images=all_images, labels=all_labels, classes=classes)


def load_cifar10(root: Path, split: Split, limit_per_class: int | None = None) -> ArrayDataset:
    """Load one split of CIFAR-10 from root; DatasetLayoutError when root has neither layout."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetLayoutError(f"CIFAR-10 folder {root} does not exist ({LAYOUTS})")
    batches = _batches_dir(root)
    if batches is not None:
        return _load_batches(batches, split, limit_per_class)
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetLayoutError(f"{root} has neither {BATCHES_DIR}/ nor {split}/ ({LAYOUTS})")
    folder = scan_image_folder(split_dir, min_classes=2, limit_per_class=limit_per_class)
    images = load_images(folder.paths, size=(32, 32))
    return ArrayDataset(images=images, labels=folder.labels, classes=folder.classes)
