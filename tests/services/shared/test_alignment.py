"""5-point similarity alignment: the estimated transform maps landmarks onto the template."""

from __future__ import annotations

import numpy as np

from services.shared.alignment import TEMPLATE_112, align_face, similarity_transform


def test_exact_similarity_is_recovered() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = (TEMPLATE_112 - shift) @ np.linalg.inv(rotation).T
    matrix = similarity_transform(source, TEMPLATE_112)
    mapped = source @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - TEMPLATE_112).max() < 1e-9


def test_no_reflection_for_mirrored_points() -> None:
    mirrored = TEMPLATE_112.copy()
    mirrored[:, 0] = 112 - mirrored[:, 0]
    matrix = similarity_transform(mirrored, TEMPLATE_112)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_align_face_output_shape() -> None:
    image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    crop = align_face(image, TEMPLATE_112 * 2 + 50)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
