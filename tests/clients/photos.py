"""Photos for the client tests, written to files: real faces from scikit-image, generated no-face
images, and a folder tree for ``enroll-folder``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers import images


def astronaut(path: Path) -> Path:
    """scikit-image's astronaut (one face) as a JPEG file."""
    path.write_bytes(images.astronaut_jpeg())
    return path


def astronaut_mirrored(path: Path) -> Path:
    """The astronaut mirrored and re-encoded: the same person, different pixels."""
    mirrored = np.ascontiguousarray(images.astronaut()[:, ::-1])
    path.write_bytes(images.encode(mirrored, "JPEG", quality=90))
    return path


def no_face(path: Path) -> Path:
    """A gradient with no face, as a JPEG file."""
    path.write_bytes(images.no_face_jpeg())
    return path


def not_an_image(path: Path) -> Path:
    """Bytes that are no image format."""
    path.write_bytes(b"this is not an image" * 20)
    return path


def enroll_tree(root: Path) -> Path:
    """root/eileen/{a,b}.jpg (faces), root/nobody/blank.jpg (no face), root/notes.txt (ignored)."""
    (root / "eileen").mkdir(parents=True)
    (root / "nobody").mkdir()
    astronaut(root / "eileen" / "a.jpg")
    astronaut_mirrored(root / "eileen" / "b.jpg")
    no_face(root / "nobody" / "blank.jpg")
    (root / "notes.txt").write_text("not a user folder")
    return root


def still_video(path: Path, frames: int = 30) -> Path:
    """An mp4 (mp4v) of the astronaut standing still, written with OpenCV."""
    import cv2

    bgr = np.ascontiguousarray(images.astronaut()[:, :, ::-1])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, bgr.shape[1::-1])
    try:
        for _ in range(frames):
            writer.write(bgr)
    finally:
        writer.release()
    return path
