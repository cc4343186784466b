"""bench/cifar_compression.py on tiny generated CIFAR data: every row, sane sizes and figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cifar_compression import JSON_NAME, TABLE_NAME, main, qat_decision

ROWS = (
    "float32",
    "float16",
    "int8",
    "pruned-50",
    "pruned-80",
    "student-distilled",
    "student-labels",
)


@pytest.fixture(scope="module")
def teacher(cifar_teacher: Path) -> Path:
    return cifar_teacher


def test_table_has_every_row(
    teacher: Path, cifar_batches: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = [
        "--checkpoint",
        str(teacher),
        "--data",
        str(cifar_batches),
        "--out-dir",
        str(out),
        "--train-per-class",
        "8",
        "--test-per-class",
        "4",
        "--calibration-count",
        "16",
        "--prune-epochs",
        "1",
        "--distill-epochs",
        "1",
        "--student-depth",
        "8",
        "--student-width",
        "0.25",
        "--runs",
        "4",
        "--block",
        "2",
        "--quiet",
    ]
    assert main(argv) == 0
    report = json.loads((out / JSON_NAME).read_text())
    rows = {row["key"]: row for row in report["variants"]}
    assert tuple(rows) == ROWS
    assert report["data"] == {"path": str(cifar_batches), "train_images": 24, "test_images": 12}
    assert "--prune-epochs 1" in report["command"]

    assert rows["float16"]["bytes"] < rows["float32"]["bytes"]
    assert rows["int8"]["bytes"] < rows["float16"]["bytes"]
    assert rows["pruned-80"]["gzip_bytes"] < rows["pruned-50"]["gzip_bytes"]
    assert rows["pruned-50"]["gzip_bytes"] < rows["float32"]["gzip_bytes"]
    assert rows["pruned-80"]["details"]["sparsity"] >= 0.75
    assert rows["pruned-50"]["details"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert rows["int8"]["details"]["float_operators"] == []
    assert rows["student-distilled"]["details"]["params"] < report["teacher"]["params"]
    for row in rows.values():
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["latency_p50_ms"] > 0
        assert row["latency_runs"] == 4
        assert Path(row["file"]).is_file()
    # the TFLite files are the Keras models: same predictions on the same images
    for key in ("float32", "pruned-50", "pruned-80", "student-distilled", "student-labels"):
        assert rows[key]["accuracy"] == pytest.approx(rows[key]["details"]["keras_accuracy"])

    table = (out / TABLE_NAME).read_text()
    assert table == report["table"]
    assert capsys.readouterr().out == table
    lines = table.splitlines()
    assert lines[0].startswith("| variant | test accuracy (12) | file size | gzip size |")
    body = lines[2:]
    expected = len(ROWS) + (1 if report["qat"]["needed"] else 0)
    assert len(body) == expected
    labels = [line.split("|")[1].strip() for line in body]
    assert labels[:3] == ["float32", "float16", "int8 PTQ"]
    assert report["qat"]["note"] in rows["int8"]["notes"]


def test_qat_decision_threshold() -> None:
    kept = qat_decision(0.80, 0.795)
    assert not kept.needed
    assert kept.ptq_drop_points == pytest.approx(0.5)
    assert kept.note.startswith("QAT not needed")
    lost = qat_decision(0.80, 0.78)
    assert lost.needed
    assert lost.note.startswith("QAT needed (PTQ loses 2.00 points)")
    assert ("not installed" in lost.note) is not lost.available


def test_missing_checkpoint_is_one_error_line(
    cifar_batches: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.keras"
    argv = ["--checkpoint", str(missing), "--data", str(cifar_batches)]
    assert main([*argv, "--out-dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: checkpoint {missing} does not exist\n"
    assert not (tmp_path / "out").exists()
