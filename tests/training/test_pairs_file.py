"""Pairs files (CSV and classic pairs.txt): each malformed line is one error naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.cli import main
from training.data.pairs import read_pairs
from training.errors import DatasetLayoutError, TrainingError
from training.verification import check_foldable, ten_fold_accuracy


def _write(tmp_path: Path, text: str, name: str = "pairs.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_both_formats_and_the_suffix(tmp_path: Path) -> None:
    csv_pairs = read_pairs(_write(tmp_path, "img_a,img_b,same\na.jpg,b.jpg,1\na.jpg,c.jpg,FALSE\n"))
    assert list(csv_pairs.same) == [True, False]
    assert csv_pairs.first[0] == tmp_path / "a.jpg"
    classic = _write(tmp_path, "1 2\nAnn 1 2\n\nAnn 1 Bob 3\n", "pairs.txt")
    pairs = read_pairs(classic, suffix=".png")
    assert pairs.first == [tmp_path / "Ann" / "Ann_0001.png"] * 2
    assert pairs.second[1] == tmp_path / "Bob" / "Bob_0003.png"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("img_a,img_b,same\na.jpg,b.jpg\n", r"pairs.csv:2: same must be 1/0 .* not None"),
        ("img_a,img_b,same\na.jpg,,1\n", r"pairs.csv:2: expected img_a,img_b,same"),
        ("img_a,img_b,same\na.jpg,b.jpg,1\nc.jpg\n", r"pairs.csv:3: expected img_a,img_b,same"),
        ("img_a,img_b,same\na.jpg,b.jpg,maybe\n", r"pairs.csv:2: same must be 1/0 .*'maybe'"),
        ("img_a,img_b,same\n", r"holds no pairs"),
        ("Ann 1 two\n", r"pairs.csv:1: image number 'two' is not a whole number"),
        ("Ann 1 2\nAnn 1\n", r"pairs.csv:2: expected 'name n1 n2'"),
        ("", r"holds no pairs"),
    ],
)
def test_malformed_files(text: str, said: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match=said):
        read_pairs(_write(tmp_path, text))


@pytest.mark.parametrize("suffix", ["png", ".", ".p/g", ".png.gz", ""])
def test_a_suffix_must_look_like_dot_png(suffix: str, tmp_path: Path) -> None:
    path = _write(tmp_path, "img_a,img_b,same\na.jpg,b.jpg,1\n")
    with pytest.raises(DatasetLayoutError, match=r"image suffix must look like \.png"):
        read_pairs(path, suffix=suffix)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DatasetLayoutError, match="is not a text pairs file"):
        read_pairs(path)


def test_ten_folds_need_ten_pairs_of_both_kinds() -> None:
    check_foldable(np.array([True, False] * 5))
    for same in (np.array([True, False] * 4), np.ones(20, bool), np.zeros(20, bool)):
        with pytest.raises(TrainingError, match="10-fold verification needs at least 10 pairs"):
            ten_fold_accuracy(np.zeros(len(same)), same)


def test_too_few_pairs_is_refused_before_any_embedding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = _write(tmp_path, "img_a,img_b,same\na.jpg,b.jpg,1\na.jpg,c.jpg,0\n")
    code = main(["evaluate", "embedding", "--model", "sface", "--pairs", str(pairs)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        "error: 10-fold verification needs at least 10 pairs with both same-person and "
        "different-person pairs; got 1 same and 1 different"
    )
