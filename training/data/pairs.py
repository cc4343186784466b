"""LFW-format verification pairs.

Two formats are read:
- CSV with a header ``img_a,img_b,same`` and paths relative to the CSV's folder (the layout
  of ../shared/data/lfw-devtest/pairs.csv);
- the classic ``pairs.txt``: an optional first line with counts, then ``name n1 n2`` (same
  person) or ``name1 n1 name2 n2`` (different) lines, images at ``<root>/<name>/<name>_NNNN.jpg``.

``suffix`` replaces image suffixes (aligned crops are written as .png).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from training.errors import DatasetLayoutError


@dataclass(frozen=True)
class Pairs:
    """Image path pairs and whether each pair shows the same person."""

    first: list[Path]
    second: list[Path]
    same: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.same)

    def images(self) -> list[Path]:
        """Every distinct image, sorted."""
        return sorted(set(self.first) | set(self.second))


def _classic_path(root: Path, name: str, number: str) -> Path:
    return root / name / f"{name}_{int(number):04d}.jpg"


def read_pairs(path: Path, root: Path | None = None, suffix: str | None = None) -> Pairs:
    """Read a pairs file; image paths resolve against root (default: the file's folder)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"pairs file {path} does not exist")
    base = Path(root) if root is not None else path.parent
    first: list[Path] = []
    second: list[Path] = []
    same: list[bool] = []
    lines = path.read_text().splitlines()
    if lines and lines[0].replace(" ", "").startswith("img_a,img_b,same"):
        for row in csv.DictReader(lines):
            first.append(base / row["img_a"])
            second.append(base / row["img_b"])
            same.append(row["same"].strip() in ("1", "true", "True"))
    else:
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if len(parts) == 3:
                first.append(_classic_path(base, parts[0], parts[1]))
                second.append(_classic_path(base, parts[0], parts[2]))
                same.append(True)
            elif len(parts) == 4:
                first.append(_classic_path(base, parts[0], parts[1]))
                second.append(_classic_path(base, parts[2], parts[3]))
                same.append(False)
            elif not (number == 1 and all(p.isdigit() for p in parts)):
                raise DatasetLayoutError(
                    f"{path}:{number}: expected 'name n1 n2' or 'name1 n1 name2 n2', got {line!r}"
                )
    if not same:
        raise DatasetLayoutError(f"{path} holds no pairs")
    if suffix is not None:
        first = [p.with_suffix(suffix) for p in first]
        second = [p.with_suffix(suffix) for p in second]
    return Pairs(first=first, second=second, same=np.asarray(same, dtype=bool))


def keep_pairs(pairs: Pairs, mask: NDArray[np.bool_]) -> Pairs:
    """The subset of pairs where mask is true."""
    first = [p for p, keep in zip(pairs.first, mask, strict=True) if keep]
    second = [p for p, keep in zip(pairs.second, mask, strict=True) if keep]
    return Pairs(first=first, second=second, same=pairs.same[mask])
