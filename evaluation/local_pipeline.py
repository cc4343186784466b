"""Detection + alignment + embedding in-process, with the services' own classes.

For benchmarks (the bare model time that the served path is compared with) and for analyses
that need every face of a photo. Figures that the product publishes (thresholds, accuracy) are
measured through the served path instead (``evaluation/impostor_table.py``,
``evaluation/lfw_accuracy.py``, ``evaluation/open_set.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import align_face
from services.shared.imaging import decode_image
from services.shared.model_store import ModelStore
from services.shared.model_zoo.sface import SFace
from services.shared.model_zoo.yunet import DetectedFace, YuNetDetector


@dataclass
class LocalPipeline:
    """Detection + alignment + embedding in-process, exactly as the two services run them."""

    detector: YuNetDetector
    embedder: SFace

    @classmethod
    def load(cls, store: ModelStore | None = None, threads: int = 2) -> LocalPipeline:
        """Open the verified models from the model store."""
        store = store or ModelStore()
        return cls(
            YuNetDetector.from_store(store, "yunet", threads),
            SFace.from_store(store, "sface", threads),
        )

    def embed_image(self, data: bytes) -> NDArray[np.float32] | None:
        """The embedding of the largest face, or None when no face is found."""
        image = decode_image(data)
        faces = self.detector.detect(image, upscale=False)  # as recognition asks
        if not faces:
            return None
        return self.embed_face(image, max(faces, key=lambda f: f.area))

    def embed_face(self, image: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.float32]:
        """The embedding of one detected face of the decoded image."""
        crop = align_face(image, face.landmarks)
        vector: NDArray[np.float32] = self.embedder.embed(crop[np.newaxis])[0]
        return vector
