"""Dataset readers: both CIFAR-10 layouts, and a clear error for each wrong layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.training.datagen import write_folder
from training.data.cifar import load_cifar10
from training.data.folders import scan_image_folder
from training.errors import DatasetLayoutError


def test_cifar_batches_layout(cifar_batches: Path) -> None:
    train = load_cifar10(cifar_batches, "train")
    test = load_cifar10(cifar_batches / "cifar-10-batches-py", "test")
    assert train.images.shape == (60, 32, 32, 3)
    assert test.images.shape == (12, 32, 32, 3)
    assert train.classes == ["red", "green", "blue"]
    # the channel-first rows were transposed back: class 0 images are red
    assert train.images[train.labels == 0][..., 0].mean() > 150
    limited = load_cifar10(cifar_batches, "train", limit_per_class=2)
    assert np.bincount(limited.labels).tolist() == [2, 2, 2]


def test_cifar_folder_layout(cifar_folders: Path) -> None:
    data = load_cifar10(cifar_folders, "train")
    assert data.images.shape == (36, 32, 32, 3)
    assert data.classes == ["class_00", "class_01", "class_02"]


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_cifar10(tmp_path / "nope", "train")


def test_neither_layout(tmp_path: Path) -> None:
    (tmp_path / "random").mkdir()
    with pytest.raises(DatasetLayoutError, match="neither cifar-10-batches-py"):
        load_cifar10(tmp_path, "train")


def test_corrupt_batch(cifar_batches: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    meta = cifar_batches / "cifar-10-batches-py" / "batches.meta"
    (folder / "batches.meta").write_bytes(meta.read_bytes())
    (folder / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DatasetLayoutError, match="not a CIFAR-10 batch file"):
        load_cifar10(tmp_path, "train")


def test_missing_batch(cifar_batches: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    meta = cifar_batches / "cifar-10-batches-py" / "batches.meta"
    (folder / "batches.meta").write_bytes(meta.read_bytes())
    with pytest.raises(DatasetLayoutError, match="data_batch_1 is missing"):
        load_cifar10(tmp_path, "train")


def test_loose_images(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    with pytest.raises(DatasetLayoutError, match="directly but no class sub-folders"):
        scan_image_folder(tmp_path)


def test_empty_class(tmp_path: Path) -> None:
    write_folder(tmp_path, 2, 2, 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError, match="has 0 images"):
        scan_image_folder(tmp_path)


def test_one_class(tmp_path: Path) -> None:
    write_folder(tmp_path, 1, 2, 8)
    with pytest.raises(DatasetLayoutError, match="at least 2 needed"):
        scan_image_folder(tmp_path)


def test_skip_small_classes(tmp_path: Path) -> None:
    write_folder(tmp_path, 3, 2, 8)
    single = tmp_path / "single"
    single.mkdir()
    Image.new("RGB", (8, 8)).save(single / "x.png")
    folder = scan_image_folder(tmp_path, min_per_class=2, skip_small=True)
    assert folder.classes == ["class_00", "class_01", "class_02"]
    assert len(folder) == 6


def test_unreadable_image(tmp_path: Path, cifar_folders: Path) -> None:
    root = tmp_path / "data"
    write_folder(root / "train", 2, 2, 32)
    (root / "train" / "class_00" / "broken.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetLayoutError, match="not a readable image"):
        load_cifar10(root, "train")
