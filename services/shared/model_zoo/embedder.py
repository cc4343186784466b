"""The interface the services need from a face embedder (SFace, or a fusion of networks)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.shared.model_store import ModelSpec
from services.shared.model_zoo.base import ServedModel


class Embedder(ServedModel, Protocol):
    """Aligned 112x112 RGB crops in, (n, dimension) unit-length float32 rows out."""

    @property
    def spec(self) -> ModelSpec:
        """The manifest entry (its ``params`` hold the impostor table)."""
        ...

    @property
    def name(self) -> str:
        """The manifest name."""
        ...

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        ...

    def embed(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embed a batch (n, 112, 112, 3) or one crop (112, 112, 3)."""
        ...
