"""Load a saved ``.keras`` checkpoint with a clear error when it is missing or unreadable."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import keras

import training.losses  # noqa: F401  (registers the custom layers for deserialisation)
from training.errors import TrainingError


def load_checkpoint(path: Path) -> Any:
    """The Keras model saved at path (compiled state included when present)."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "best.keras"
    if not path.is_file():
        raise TrainingError(f"checkpoint {path} does not exist")
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as error:
        raise TrainingError(f"cannot load checkpoint {path}: {error}") from error
