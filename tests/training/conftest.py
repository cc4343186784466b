"""Tiny generated datasets for the training tests (no downloads, no ../shared needed)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.training.datagen import CLASSES, class_images, write_folder


@pytest.fixture(scope="session")
def cifar_batches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A miniature ``cifar-10-batches-py`` folder: 3 classes, 16 train + 4 test images each."""
    root = tmp_path_factory.mktemp("cifar-py")
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [c.encode() for c in CLASSES]}, handle)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        per_class = 4
        images = np.concatenate([class_images(c, per_class, 32, rng) for c in range(3)])
        labels = [c for c in range(3) for _ in range(per_class)]
        data = images.transpose(0, 3, 1, 2).reshape(len(labels), -1)
        with (folder / name).open("wb") as handle:
            pickle.dump({b"data": data, b"labels": labels}, handle)
    return root


@pytest.fixture(scope="session")
def cifar_folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/<class>/ and test/<class>/ with 3 classes of 32x32 images."""
    root = tmp_path_factory.mktemp("cifar-jpeg")
    write_folder(root / "train", 3, 12, 32, seed=1)
    write_folder(root / "test", 3, 4, 32, seed=2)
    return root


@pytest.fixture(scope="session")
def cifar_teacher(cifar_batches: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ResNet-8 (width 0.5) trained 2 epochs on ``cifar_batches``: its last.keras."""
    from training.recipes.cifar10 import CifarConfig, train

    run = tmp_path_factory.mktemp("cifar-teacher")
    train(
        CifarConfig(
            data_dir=cifar_batches,
            run_dir=run,
            architecture="resnet",
            epochs=2,
            batch_size=12,
            learning_rate=3e-3,
            progress=False,
            arch_options={"depth": 8, "width": 0.5},
        )
    )
    return run / "checkpoints" / "last.keras"
