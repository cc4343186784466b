"""``plot``: a run's history.csv as a PNG; a malformed file is one error line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from training.cli import main
from training.curves import read_history
from training.errors import TrainingError

HEADER = "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n"


def _history(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "history.csv"
    path.write_text(text)
    return path


def test_plot_of_a_run_still_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "0,0.4,0.1,1.6,0.45,1.4\n1,0.6,0.1,1.1,NA,NA\n2,0.7,0.1,0.9,0.6"  # last line cut short
    history = _history(tmp_path, HEADER + rows)
    epochs, metrics = read_history(history)
    assert epochs == [1, 2]
    assert list(metrics) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert metrics["loss"] == [1.6, 1.1] and math.isnan(metrics["val_loss"][1])
    out = tmp_path / "plots" / "curve.png"
    assert main(["plot", "--history", str(history), "--out", str(out)]) == 0
    with Image.open(out) as png:
        assert png.size == (1000, 400)


def test_validation_columns_that_are_all_na_are_left_out(tmp_path: Path) -> None:
    history = _history(tmp_path, HEADER + "0,0.4,0.1,1.6,NA,NA\n1,0.6,0.1,1.1,NA,NA\n")
    assert list(read_history(history)[1]) == ["accuracy", "loss"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "has no epochs"),
        (HEADER, "has no epochs"),
        ("accuracy,loss\n0.5,1.0\n", "has no epoch column"),
        (HEADER + "0,0.4,0.1,1.6,0.45,1.4\nx,0.6,0.1,1.1,0.5,1.2\n", r"history.csv:3: not a row"),
        (HEADER + "0,0.4,0.1,high,0.45,1.4\n1,0.6,0.1,1.1,0.5,1.2\n", r"history.csv:2: not a row"),
    ],
)
def test_malformed_history_is_one_error(
    text: str, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _history(tmp_path, text)
    with pytest.raises(TrainingError, match=said):
        read_history(history)
    assert main(["plot", "--history", str(history), "--out", str(tmp_path / "c.png")]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_binary_file_and_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "history.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    assert main(["plot", "--history", str(binary), "--out", str(tmp_path / "c.png")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {binary}")
    history = _history(tmp_path, HEADER + "0,0.4,0.1,1.6,0.45,1.4\n")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["plot", "--history", str(history), "--out", str(blocker / "c.png")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write {blocker / 'c.png'}")
