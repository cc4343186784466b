"""dlib-style chips: the pyramid equals dlib's integer algorithm, geometry is exact on easy cases,
and YuNet's points land on the template."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.model_zoo.dlib_chip import ChipDetails, extract_image_chip, pyramid_down
from services.shared.model_zoo.face_chips import (
    DLIB_YUNET_5,
    EMOTION_SIZE,
    dlib_template,
    emotion_crop,
    extract_face_chip,
)
from tests.helpers import images


def literal_pyramid_down(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """dlib's pyramid_down_2_1 loops, transcribed with integer arithmetic."""
    rows, cols = image.shape[:2]
    taps = (1, 4, 6, 4, 1)
    wide = image.astype(np.int64)
    temp = np.zeros((rows, (cols - 3) // 2, *image.shape[2:]), dtype=np.int64)
    for c in range(temp.shape[1]):
        temp[:, c] = sum(w * wide[:, 2 * c + k] for k, w in enumerate(taps))
    down = np.zeros(((rows - 3) // 2, temp.shape[1], *image.shape[2:]), dtype=np.int64)
    for dr, r in enumerate(range(2, rows - 2, 2)):
        down[dr] = sum(w * temp[r - 2 + k] for k, w in enumerate(taps)) // 256
    return down.astype(np.uint8)


def test_pyramid_matches_dlibs_integer_loops() -> None:
    rng = np.random.default_rng(0)
    for shape in ((40, 51, 3), (33, 30, 3), (20, 20)):
        image = rng.integers(0, 256, size=shape, dtype=np.uint8)
        assert np.array_equal(pyramid_down(image), literal_pyramid_down(image))


def test_unrotated_unscaled_chip_is_a_plain_crop() -> None:
    image = np.random.default_rng(1).integers(0, 256, size=(80, 90, 3), dtype=np.uint8)
    # A 32-px chip whose rectangle spans pixels 10..41: dlib's right edge = left + size - 1.
    chip = extract_image_chip(image, ChipDetails((10.0, 12.0, 41.0, 43.0), 0.0, 32))
    assert np.array_equal(chip, image[12:44, 10:42])


def test_outside_the_image_is_black() -> None:
    image = np.full((50, 50, 3), 200, dtype=np.uint8)
    chip = extract_image_chip(image, ChipDetails((-20.0, -20.0, 11.0, 11.0), 0.0, 32))
    assert chip[:19, :19].max() == 0 and chip[-5:, -5:].min() == 200


def test_yunet_points_land_on_the_template() -> None:
    # Draw the template into a 400-px image at a known similarity; the chip must put the
    # five points back at the template positions (checked through a bright dot per point).
    size = 64
    template = dlib_template(size)
    angle, scale, shift = np.radians(12.0), 4.0, np.array([90.0, 70.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = template @ rotation.T + shift
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    for x, y in points:
        image[round(y) - 6 : round(y) + 7, round(x) - 6 : round(x) + 7] = 255
    chip = extract_face_chip(image, points, size)[:, :, 0].astype(np.float64)
    for x, y in template:
        top, left = round(y) - 4, round(x) - 4
        window = chip[top : top + 9, left : left + 9]
        rows, cols = np.mgrid[top : top + 9, left : left + 9]
        centre = np.array([(window * cols).sum(), (window * rows).sum()]) / window.sum()
        # dlib's own conventions (rectangle side size*scale - 1, pyramid offset (1.25, 0.75)
        # where its filter samples at 1) move points by about a pixel at this size.
        assert np.hypot(*(centre - (x, y))) < 1.5
    assert DLIB_YUNET_5.shape == (5, 2)


def test_a_chip_overlapping_the_image_by_one_column_is_black() -> None:
    """The chip's area met the image in one column: bilinear sampling indexed past it
    (IndexError, an INTERNAL error); dlib samples nothing there, so the chip is black."""
    image = np.full((100, 100, 3), 200, dtype=np.uint8)
    landmarks = np.array(
        [[112.16, 41.47], [127.28, 41.47], [119.72, 50.57], [113.19, 57.78], [126.25, 57.78]]
    )
    chip = extract_face_chip(image, landmarks, 64)
    assert chip.shape == (64, 64, 3) and not chip.any()


def test_the_emotion_crop_of_a_huge_box_takes_little_memory() -> None:
    """A box of 8000 px on a 4000x2 image (a direct gRPC caller's) needed a 9600 px square:
    350 MB. The square is built at most 1024 px wide now."""
    thin = np.full((2, 4000, 3), 120, dtype=np.uint8)
    tracemalloc.start()
    try:
        crop = emotion_crop(thin, np.array([0.0, 0.0, 8000.0, 8000.0]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert crop.shape == (EMOTION_SIZE, EMOTION_SIZE) and peak < 8 * 2**20


def test_a_large_faces_emotion_crop_matches_the_same_face_at_half_size() -> None:
    """A square over 1024 px is shrunk before it is cut: the crop is the one of the photo at
    half size (within rounding), and a square under the limit is cut exactly as before."""
    big = cv2.resize(images.astronaut(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
    photo = np.asarray(big, dtype=np.uint8)
    box = np.array([300.0, 150.0, 1200.0, 1300.0])  # a 1560 px square: shrunk
    half = np.asarray(cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_AREA), np.uint8)
    exact = emotion_crop(half, box / 2)  # a 780 px square: cut as before
    shrunk = emotion_crop(photo, box)
    assert np.abs(shrunk.astype(int) - exact.astype(int)).mean() < 2.0
