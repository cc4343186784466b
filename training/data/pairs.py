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
import re
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


TRUE_VALUES = ("1", "true", "yes")
FALSE_VALUES = ("0", "false", "no")


def _classic_path(root: Path, name: str, number: str, where: str) -> Path:
    if not number.isdigit():
        raise DatasetLayoutError(f"{where}: image number {number!r} is not a whole number")
    return root / name / f"{name}_{int(number):04d}.jpg"


def _same_value(text: str | None, where: str) -> bool:
    value = (text or "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise DatasetLayoutError(f"{where}: same must be 1/0 (or true/false), not {text!r}")


def check_suffix(suffix: str) -> str:
    """The suffix, or DatasetLayoutError unless it looks like ``.png``."""
    if not re.fullmatch(r"\.[A-Za-z0-9]+", suffix):
        raise DatasetLayoutError(f"image suffix must look like .png, not {suffix!r}")
    return suffix


def _read_csv(path: Path, lines: list[str], base: Path) -> list[tuple[Path, Path, bool]]:
    rows: list[tuple[Path, Path, bool]] = []
    for number, row in enumerate(csv.DictReader(lines), start=2):
        where = f"{path}:{number}"
        first, second = (row.get("img_a") or "").strip(), (row.get("img_b") or "").strip()
        if not first or not second:
            raise DatasetLayoutError(f"{where}: expected img_a,img_b,same, got {row!r}")
        rows.append((base / first, base / second, _same_value(row.get("same"), where)))
    return rows


def _read_classic(path: Path, lines: list[str], base: Path) -> list[tuple[Path, Path, bool]]:
    rows: list[tuple[Path, Path, bool]] = []
    for number, line in enumerate(lines, start=1):
        parts, where = line.split(), f"{path}:{number}"
        if len(parts) == 3:
            name, first, second = parts
            rows.append(
                (
                    _classic_path(base, name, first, where),
                    _classic_path(base, name, second, where),
                    True,
                )
            )
        elif len(parts) == 4:
            rows.append(
                (
                    _classic_path(base, parts[0], parts[1], where),
                    _classic_path(base, parts[2], parts[3], where),
                    False,
                )
            )
        elif parts and not (number == 1 and all(p.isdigit() for p in parts)):
            raise DatasetLayoutError(
                f"{where}: expected 'name n1 n2' or 'name1 n1 name2 n2', got {line!r}"
            )
    return rows


def read_pairs(path: Path, root: Path | None = None, suffix: str | None = None) -> Pairs:
    """Read a pairs file; image paths resolve against root (default: the file's folder).

    A malformed line, a ``same`` value other than 1/0/true/false, or a suffix that is not like
    ``.png`` is a DatasetLayoutError naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"pairs file {path} does not exist")
    if suffix is not None:
        check_suffix(suffix)
    base = Path(root) if root is not None else path.parent
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as error:
        raise DatasetLayoutError(f"{path} is not a text pairs file: {error}") from error
    if lines and lines[0].replace(" ", "").startswith("img_a,img_b,same"):
        rows = _read_csv(path, lines, base)
    else:
        rows = _read_classic(path, lines, base)
    if not rows:
        raise DatasetLayoutError(f"{path} holds no pairs")
    first = [row[0] for row in rows]
    second = [row[1] for row in rows]
    if suffix is not None:
        first = [p.with_suffix(suffix) for p in first]
        second = [p.with_suffix(suffix) for p in second]
    return Pairs(first=first, second=second, same=np.asarray([row[2] for row in rows], dtype=bool))
