"""One home for the ``.npz`` caches of cut training inputs (attribute features, emotion chips).

A cache is written to a hidden partial file and renamed into place, so a run killed while
writing leaves the old cache (or none), never a truncated one. Reading checks what a recipe
relies on: the file is an ``.npz`` without pickled objects, it has the required arrays, and the
per-face arrays have one row per face. Anything else is one DatasetLayoutError naming the file
and the command that writes it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from training.errors import DatasetLayoutError


def write_npz(path: Path, arrays: dict[str, NDArray[np.generic]]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` at ``path``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def read_npz(
    path: Path, what: str, writer: str, required: Iterable[str], per_face: Iterable[str]
) -> dict[str, NDArray[Any]]:
    """Every array of the cache at ``path``, checked (see the module docstring).

    ``what`` names the cache and ``writer`` the command that writes it, for the error messages;
    ``per_face`` arrays (those present) must all have the length of the first one.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"{what} {path} does not exist ({writer})")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetLayoutError(
            f"{path} is not a readable {what} ({error}); write it again with {writer}"
        ) from error
    missing = sorted(set(required) - set(arrays))
    if missing:
        raise DatasetLayoutError(f"{path} is not a {what} (no {', '.join(missing)})")
    lengths = {name: _rows(arrays[name]) for name in per_face if name in arrays}
    if len(set(lengths.values())) > 1:
        counts = ", ".join(f"{name} {count}" for name, count in lengths.items())
        raise DatasetLayoutError(f"{path}: the per-face arrays disagree in length ({counts})")
    return arrays


def _rows(array: NDArray[np.generic]) -> int:
    """Rows of a per-face array (-1 for a scalar, which never matches a count of faces)."""
    return int(array.shape[0]) if array.ndim else -1
