"""Face thumbnails: the small JPEG kept with each face a tenant enrolls when its thumbnails
setting is on (``python -m gateway.tenants thumbnails TENANT on``; off by default).

The thumbnail is the 112x112 aligned crop the embedding model sees, so it shows exactly what
was enrolled (not the photo) and costs a few KB per face.
"""

from __future__ import annotations

import io

from faceflow.common.v1 import common_pb2
from PIL import Image

THUMBNAIL_QUALITY = 85
"""JPEG quality: about 3-5 KB for a 112x112 face, without visible blocking."""


def thumbnail_jpeg(crop: common_pb2.AlignedCrop) -> bytes:
    """The aligned crop (raw RGB, ``size`` x ``size``) as a JPEG."""
    image = Image.frombytes("RGB", (crop.size, crop.size), crop.rgb)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()
