"""``split``: identity-disjoint training links and held-out pairs, refusing to mix or overwrite."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.training.datagen import write_folder
from training.cli import main
from training.data.pairs import read_pairs
from training.data.split import split_identities
from training.errors import TrainingError


def people_and_pairs(root: Path) -> tuple[Path, Path]:
    """8 people x 3 images, and a pairs.csv: one same pair per person, one different pair."""
    images = write_folder(root / "people", 8, 3, 16, seed=1)
    rows = []
    for label in range(8):
        rows.append((f"people/class_{label:02d}/000.png", f"people/class_{label:02d}/001.png", 1))
        other = (label + 1) % 8
        rows.append((f"people/class_{label:02d}/002.png", f"people/class_{other:02d}/000.png", 0))
    pairs = root / "pairs.csv"
    with pairs.open("w", newline="") as handle:
        csv.writer(handle).writerows([("img_a", "img_b", "same"), *rows])
    return images, pairs


def test_no_evaluated_person_is_in_the_training_set(tmp_path: Path) -> None:
    images, pairs = people_and_pairs(tmp_path)
    train_dir, out = tmp_path / "train", tmp_path / "eval" / "pairs.csv"
    counts = split_identities(images, read_pairs(pairs), train_dir, out, 0.5, seed=3)
    trained = {p.name for p in train_dir.iterdir()}
    assert counts["train_identities"] == len(trained) == 4 and counts["train_images"] == 12
    held_out = read_pairs(out)
    assert len(held_out.same) == counts["eval_pairs"] > 0
    for first, second in zip(held_out.first, held_out.second, strict=True):
        assert first.parent.name not in trained and second.parent.name not in trained
        assert first.is_file() and second.is_file()


def test_a_second_split_or_an_existing_pairs_file_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, pairs = people_and_pairs(tmp_path)
    original = pairs.read_bytes()
    train_dir = tmp_path / "train"
    argv = ["split", "--images", str(images), "--pairs", str(pairs), "--train-dir", str(train_dir)]
    assert main([*argv, "--pairs-out", str(pairs)]) == 2  # the input pairs as the output
    assert f"--pairs-out {pairs} exists" in capsys.readouterr().err
    assert pairs.read_bytes() == original and not train_dir.exists()

    assert main([*argv, "--pairs-out", str(tmp_path / "a.csv")]) == 0
    linked = sorted(train_dir.rglob("*.png"))
    assert main([*argv, "--pairs-out", str(tmp_path / "b.csv"), "--seed", "1"]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert sorted(train_dir.rglob("*.png")) == linked and not (tmp_path / "b.csv").exists()


def test_a_split_leaving_no_pair_is_refused_before_writing(tmp_path: Path) -> None:
    images, pairs = people_and_pairs(tmp_path)
    lines = pairs.read_text().splitlines()
    pairs.write_text("\n".join([lines[0], *(line for line in lines[1:] if line.endswith(",0"))]))
    train_dir, out = tmp_path / "train", tmp_path / "pairs-out.csv"
    # 7 of 8 people train: every different pair (person l, person l + 1) has one of them
    with pytest.raises(TrainingError, match="no pair is left for evaluation"):
        split_identities(images, read_pairs(pairs), train_dir, out, 0.9)
    assert not train_dir.exists() and not out.exists()
