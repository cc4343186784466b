"""The arithmetic of the threshold and accuracy evaluations (evaluation/*.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from evaluation import lfw_accuracy, verify_thresholds


def test_threshold_at_far_accepts_at_most_that_fraction() -> None:
    impostor = np.linspace(-0.2, 0.6, 100_001).astype(np.float32)
    for far in (1e-3, 1e-4, 1e-5):
        threshold = verify_thresholds.threshold_at_far(impostor, far)
        assert np.mean(impostor >= threshold) <= far
        # One step lower would accept more than far: the threshold is the smallest such value.
        assert np.mean(impostor >= threshold - 1e-5) > far


def test_write_params_is_idempotent_and_keeps_the_manifest_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "sface.toml"
    manifest.write_text('name = "sface"\n\n[convert]\nsha256 = "x"\n')
    monkeypatch.setattr(verify_thresholds, "MANIFEST", manifest)
    verify_thresholds.write_params({"1e3": 0.1, "1e4": 0.2, "1e5": 0.3}, "first")
    verify_thresholds.write_params({"1e3": 0.4, "1e4": 0.5, "1e5": 0.6}, "second")
    data = tomllib.loads(manifest.read_text())
    assert data["params"] == {
        "similarity_far_1e3": 0.4,
        "similarity_far_1e4": 0.5,
        "similarity_far_1e5": 0.6,
    }
    assert manifest.read_text().count("similarity_far_1e4") == 1
    assert "first" not in manifest.read_text() and data["convert"]["sha256"] == "x"


def test_best_threshold_and_ten_fold_accuracy() -> None:
    rng = np.random.default_rng(0)
    same = np.arange(1000) % 2 == 0
    similarity = np.where(same, rng.normal(0.6, 0.1, 1000), rng.normal(0.1, 0.1, 1000))
    threshold = lfw_accuracy.best_threshold(similarity, same)
    assert 0.25 < threshold < 0.45
    mean, std = lfw_accuracy.ten_fold_accuracy(similarity, same)
    assert 0.98 < mean <= 1.0 and std < 0.03
    perfect = np.where(same, 0.9, 0.1)
    assert lfw_accuracy.ten_fold_accuracy(perfect, same) == (1.0, 0.0)
