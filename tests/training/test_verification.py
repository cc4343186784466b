"""The verification metrics of every recipe, benchmark and evaluation (training/verification)."""

from __future__ import annotations

import numpy as np
import pytest

from training.verification import best_threshold, evaluate_scores, tar_at_far, ten_fold_accuracy


def test_best_threshold_and_ten_fold_accuracy() -> None:
    rng = np.random.default_rng(0)
    same = np.arange(1000) % 2 == 0
    similarity = np.where(same, rng.normal(0.6, 0.1, 1000), rng.normal(0.1, 0.1, 1000))
    threshold = best_threshold(similarity, same)
    assert 0.25 < threshold < 0.45
    mean, std, overall = ten_fold_accuracy(similarity, same)
    assert 0.98 < mean <= 1.0 and std < 0.03 and overall == threshold
    perfect = np.where(same, 0.9, 0.1)
    assert ten_fold_accuracy(perfect, same)[:2] == (1.0, 0.0)


def test_folds_are_stratified_whatever_the_order() -> None:
    # Alternating labels would put only one label in each fold of a plain i % 10 split; with a
    # stratified split every fold holds both and a fold's errors stay one fold's errors.
    same = np.arange(100) % 2 == 0
    similarity = np.where(same, 0.9, 0.1)
    similarity[0] = 0.05  # one genuine pair below every impostor
    mean, std, _ = ten_fold_accuracy(similarity, same)
    assert mean == pytest.approx(0.99) and std == pytest.approx(np.std([0.9] + [1.0] * 9))
    grouped = np.concatenate([np.ones(50, bool), np.zeros(50, bool)])
    scores = np.where(grouped, 0.9, 0.1)
    scores[0] = 0.05
    assert ten_fold_accuracy(scores, grouped)[:2] == (mean, std)


def test_tar_at_far_holds_the_far_and_says_when_it_cannot() -> None:
    impostor = np.linspace(0.0, 0.5, 1000)
    genuine = np.array([0.3, 0.497, 0.6, 0.7])
    scores = np.concatenate([impostor, genuine])
    same = np.concatenate([np.zeros(1000, bool), np.ones(4, bool)])
    # FAR 1e-2 lets 10 of 1,000 impostors through: the threshold sits just above the 11th.
    assert tar_at_far(scores, same, 1e-2) == pytest.approx(0.75)
    assert tar_at_far(scores, same, 1e-3) == pytest.approx(0.5)
    assert tar_at_far(scores, same, 1e-4) is None
    report = evaluate_scores(scores, same, fars=(1e-2, 1e-4))
    assert report.tar_at_far == {1e-2: 0.75, 1e-4: None} and report.pairs == 1004
