"""dlib's ResNet face descriptor (``dlib_resnet``) as an embedder of the 112x112 aligned crop.

The network takes dlib's 150x150 chip, RGB 0-255 as float32. The embedding service receives
the detection service's 112x112 aligned crop, so the chip is cut from it
(``dlib_chip_from_aligned``: a fixed similarity between the two templates) rather than from
the photo; the descriptor is L2-normalised like SFace's, so a dot product is a cosine. Served
only as a member of a fusion (``FusedEmbedder``): alone it is much weaker than SFace at strict
false-accept rates (docs/embedding.md).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import DLIB_CHIP_SIZE, dlib_chip_from_aligned
from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.sface import aligned_batch, l2_normalise
from services.shared.runtime import LiteModel


class DlibDescriptor(ZooModel):
    """dlib ResNet v1: aligned 112x112 RGB uint8 crops -> (n, 128) unit vectors."""

    task = "embedding"

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3))
        self.output_name = runtime.output_names[0]
        self.dimension = runtime.output_shapes[self.output_name][-1]

    def warm_up(self) -> None:
        """One descriptor of a blank chip."""
        self.describe_chip(np.zeros((DLIB_CHIP_SIZE, DLIB_CHIP_SIZE, 3), dtype=np.uint8))

    def describe_chip(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The raw (not normalised) descriptor of one 150x150 RGB chip."""
        tensor = chip.astype(np.float32)[np.newaxis]
        result = self.runtime.run(**{self.runtime.input_name: tensor})[self.output_name]
        return np.asarray(result.reshape(-1), dtype=np.float32)

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embed a batch (n, 112, 112, 3) of aligned RGB crops (or one crop)."""
        batch = aligned_batch(crops)
        outputs = np.empty((len(batch), self.dimension), dtype=np.float32)
        for index, crop in enumerate(batch):
            outputs[index] = self.describe_chip(dlib_chip_from_aligned(crop))
        return l2_normalise(outputs)
