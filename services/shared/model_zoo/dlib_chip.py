"""dlib's face-chip extraction, reproduced: ``chip_details`` + ``extract_image_chip``.

Follows dlib/image_transforms/interpolation.h and image_pyramid.h (dlib 19.x/20.x):
- ``chip_details(from, to, dims)``: least-squares similarity chip -> image; its angle and scale
  give a rectangle ``centered_drect(tform(size/2), size*scale, size*scale)`` (whose right edge is
  ``left + size*scale - 1``), rotated by the angle.
- ``extract_image_chips``: if the rectangle is much larger than the chip, build a
  ``pyramid_down<2>`` pyramid of the region around it (5-tap [1 4 6 4 1] filter, integer
  arithmetic, a pixel at level n+1 taken from 2x+2 of level n) and map coordinates with dlib's
  ``point_down(p) = p/2 - (1.25, 0.75)``; then map the chip's corner pixels onto the rotated
  rectangle's corners and sample bilinearly, 0 where the 2x2 neighbourhood leaves the image.
A chip from dlib's own five points and template equals ``dlib.get_face_chip``'s but for 1 grey
level on 0.001% of pixel values (bilinear rounding; evaluation/attributes.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import similarity_transform

Rect = tuple[float, float, float, float]  # left, top, right, bottom (dlib drectangle)
PYRAMID_TAPS = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32)


@dataclass(frozen=True)
class ChipDetails:
    """dlib's chip_details: a rotated rectangle in the image and the chip size."""

    rect: Rect
    angle: float
    size: int


def chip_details(
    chip_points: NDArray[np.float64], image_points: NDArray[np.float64], size: int
) -> ChipDetails:
    """The chip whose template points (chip pixels) land on these image points."""
    fit = similarity_transform(np.asarray(chip_points), np.asarray(image_points))
    column = fit[:, :2] @ np.array([1.0, 0.0])
    angle = math.atan2(column[1], column[0])
    scale = float(np.hypot(column[0], column[1]))
    centre = fit[:, :2] @ np.array([size // 2, size // 2], dtype=np.float64) + fit[:, 2]
    half = (size * scale - 1.0) / 2.0
    return ChipDetails(
        (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half), angle, size
    )


def _area(rect: Rect) -> float:
    left, top, right, bottom = rect
    return max(0.0, right - left + 1.0) * max(0.0, bottom - top + 1.0)


def _rect_down(rect: Rect) -> Rect:
    left, top, right, bottom = rect
    return (left / 2 - 1.25, top / 2 - 0.75, right / 2 - 1.25, bottom / 2 - 0.75)


def _rotate(
    centre: tuple[float, float], point: tuple[float, float], angle: float
) -> tuple[float, float]:
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    return centre[0] + cos * dx - sin * dy, centre[1] + sin * dx + cos * dy


def _corners(rect: Rect, angle: float) -> list[tuple[float, float]]:
    left, top, right, bottom = rect
    centre = ((left + right) / 2, (top + bottom) / 2)
    return [
        _rotate(centre, p, angle)
        for p in ((left, top), (right, top), (left, bottom), (right, bottom))
    ]


def pyramid_down(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """dlib's pyramid_down<2>: [1 4 6 4 1]^2 / 256 (floored), pixel (x, y) from (2x+2, 2y+2)."""
    rows, cols = image.shape[:2]
    if rows <= 8 or cols <= 8:
        return np.zeros((0, 0, *image.shape[2:]), dtype=np.uint8)
    out_rows, out_cols = (rows - 3) // 2, (cols - 3) // 2
    # Sums of at most 256 * 255 are exact in float32; only the sampled quarter is kept.
    filtered = cv2.sepFilter2D(
        image, cv2.CV_32F, PYRAMID_TAPS, PYRAMID_TAPS, borderType=cv2.BORDER_REPLICATE
    )
    sampled = filtered[2 : 2 + 2 * out_rows : 2, 2 : 2 + 2 * out_cols : 2]
    return np.asarray(np.floor(sampled / 256.0 + 1e-4), dtype=np.uint8)


def _bilinear(
    image: NDArray[np.uint8], xs: NDArray[np.float64], ys: NDArray[np.float64]
) -> NDArray[np.uint8]:
    rows, cols = image.shape[:2]
    if rows < 2 or cols < 2:  # no 2x2 neighbourhood anywhere: every sample is outside (0)
        return np.zeros((*xs.shape, *image.shape[2:]), dtype=np.uint8)
    left, top = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    inside = (left >= 0) & (top >= 0) & (left + 1 < cols) & (top + 1 < rows)
    left_c, top_c = np.clip(left, 0, max(cols - 2, 0)), np.clip(top, 0, max(rows - 2, 0))
    fx, fy = (xs - left)[..., None], (ys - top)[..., None]
    pixels = image.astype(np.float64)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    value = (1 - fy) * ((1 - fx) * pixels[top_c, left_c] + fx * pixels[top_c, left_c + 1]) + fy * (
        (1 - fx) * pixels[top_c + 1, left_c] + fx * pixels[top_c + 1, left_c + 1]
    )
    value[~inside] = 0.0
    out = np.clip(value, 0, 255).astype(np.uint8)  # dlib assigns by truncation
    return out if image.ndim == 3 else out[..., 0]


def extract_image_chip(image: NDArray[np.uint8], details: ChipDetails) -> NDArray[np.uint8]:
    """dlib's extract_image_chip with bilinear interpolation."""
    size = details.size
    chip_area = float(size * size)
    depth, grow = 0, 2.0
    rect = _rect_down(details.rect)
    while _area(rect) > chip_area:
        rect = _rect_down(rect)
        depth += 1
        grow = grow * 2 + 2
    xs_c, ys_c = zip(*_corners(details.rect, details.angle), strict=True)
    height, width = image.shape[:2]
    box_left = max(0.0, min(xs_c) - grow)
    box_top = max(0.0, min(ys_c) - grow)
    box_right = min(width - 1.0, max(xs_c) + grow)
    box_bottom = min(height - 1.0, max(ys_c) + grow)
    bl, bt = math.floor(box_left + 0.5), math.floor(box_top + 0.5)
    br, bb = math.floor(box_right + 0.5), math.floor(box_bottom + 0.5)
    if br < bl or bb < bt:
        return np.zeros((size, size, *image.shape[2:]), dtype=np.uint8)
    level = image[bt : bb + 1, bl : br + 1]
    rect = (details.rect[0] - bl, details.rect[1] - bt, details.rect[2] - bl, details.rect[3] - bt)
    while _area(_rect_down(rect)) > chip_area and level.shape[0] > 8 and level.shape[1] > 8:
        level = pyramid_down(level)
        rect = _rect_down(rect)
    top_left, top_right, bottom_left, _ = _corners(rect, details.angle)
    source = np.array([[0.0, 0.0], [size - 1.0, 0.0], [0.0, size - 1.0]], dtype=np.float32)
    target = np.array([top_left, top_right, bottom_left], dtype=np.float32)
    matrix = cv2.getAffineTransform(source, target).astype(np.float64)
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float64)
    xs = matrix[0, 0] * grid_x + matrix[0, 1] * grid_y + matrix[0, 2]
    ys = matrix[1, 0] * grid_x + matrix[1, 1] * grid_y + matrix[1, 2]
    return _bilinear(np.ascontiguousarray(level), xs, ys)
