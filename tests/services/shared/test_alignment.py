"""5-point similarity alignment: the estimated transform maps landmarks onto the template."""

from __future__ import annotations

import numpy as np

from services.shared.alignment import (
    DLIB_CHIP_SIZE,
    DLIB_CHIP_TEMPLATE_150,
    TEMPLATE_112,
    align_dlib_chip,
    align_face,
    similarity_transform,
)


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


def test_dlib_chip_template_is_symmetric_and_in_yunet_order() -> None:
    mirrored = DLIB_CHIP_TEMPLATE_150[[1, 0, 2, 4, 3]].copy()
    mirrored[:, 0] = (DLIB_CHIP_SIZE - 1) - mirrored[:, 0]
    assert np.abs(mirrored - DLIB_CHIP_TEMPLATE_150).max() < 1e-3
    left_eye, right_eye, nose, left_mouth, _ = DLIB_CHIP_TEMPLATE_150
    assert left_eye[0] < right_eye[0] and left_eye[1] < nose[1] < left_mouth[1]


def test_align_dlib_chip_puts_the_landmarks_on_the_template() -> None:
    # one bright pixel at each landmark of a face twice the chip's scale, rotated and shifted
    angle, scale, shift = 0.2, 2.0, np.array([40.0, 30.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = DLIB_CHIP_TEMPLATE_150 @ rotation.T + shift
    image = np.zeros((420, 420, 3), dtype=np.uint8)
    for x, y in np.round(landmarks).astype(int):
        image[y - 2 : y + 3, x - 2 : x + 3] = 255
    chip = align_dlib_chip(image, landmarks)
    assert chip.shape == (DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3) and chip.dtype == np.uint8
    for x, y in np.round(DLIB_CHIP_TEMPLATE_150).astype(int):
        assert chip[y, x, 0] > 100
