"""An identity-disjoint train/evaluation split of a folder-per-identity set with LFW pairs.

Training identities are drawn among those with at least ``min_images`` photos; evaluation keeps
only the pairs whose two people are both outside the training set, so no evaluated face or
person was seen in training. The training set is written as symbolic links (no copies).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from training.data.folders import scan_image_folder
from training.data.pairs import Pairs
from training.errors import TrainingError


def split_identities(
    images_root: Path,
    pairs: Pairs,
    train_dir: Path,
    pairs_out: Path,
    train_fraction: float = 0.5,
    min_images: int = 2,
    seed: int = 0,
) -> dict[str, int]:
    """Link training identities into train_dir, write the held-out pairs CSV; returns counts.

    Refused before anything is written: a ``train_dir`` that is not empty (a second split into
    it would mix two splits' identities), an existing ``pairs_out`` (the input pairs included)
    and a split that leaves no evaluation pair."""
    if train_dir.exists() and (not train_dir.is_dir() or any(train_dir.iterdir())):
        raise TrainingError(f"--train-dir {train_dir} is not an empty folder; choose a new one")
    if pairs_out.exists():
        raise TrainingError(f"--pairs-out {pairs_out} exists; choose a new file")
    folder = scan_image_folder(images_root, min_per_class=min_images, skip_small=True)
    rng = np.random.default_rng(seed)
    chosen = set(rng.permutation(folder.classes)[: int(len(folder.classes) * train_fraction)])
    base = pairs_out.parent
    rows = [
        [_relative(first, base), _relative(second, base), "1" if same else "0"]
        for first, second, same in zip(pairs.first, pairs.second, pairs.same, strict=True)
        if first.parent.name not in chosen and second.parent.name not in chosen
    ]
    if not rows:
        raise TrainingError(
            f"no pair is left for evaluation with --train-fraction {train_fraction}: every pair "
            "has a person in the training set; lower it or use more pairs"
        )
    linked = 0
    for path, label in zip(folder.paths, folder.labels, strict=True):
        name = folder.classes[int(label)]
        if name in chosen:
            link = train_dir / name / path.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
            linked += 1
    pairs_out.parent.mkdir(parents=True, exist_ok=True)
    with pairs_out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["img_a", "img_b", "same"])
        writer.writerows(rows)
    return {
        "train_identities": len(chosen),
        "train_images": linked,
        "eval_pairs": len(rows),
        "eval_same": sum(row[2] == "1" for row in rows),
    }


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())
