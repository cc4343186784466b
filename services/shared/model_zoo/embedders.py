"""Open the embedder a setting names: a single network or a fusion of several.

A single network's class follows from the input its file takes: 112x112 (the aligned crop
itself: SFace or a model trained here), dlib's 150x150 chip or FaceNet's 160x160 crop (each
made from the aligned crop: ``crop_embedders``).
"""

from __future__ import annotations

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.model_zoo.crop_embedders import CROP_EMBEDDERS
from services.shared.model_zoo.embedder import Embedder
from services.shared.model_zoo.fused_embedder import FUSION_TASK, FusedEmbedder
from services.shared.model_zoo.sface import SFace
from services.shared.runtime import LiteModel


def open_network(store: ModelStore, name: str, threads: int = 2) -> Embedder:
    """One embedding network, by the input its file takes."""
    prepared = store.open(name)
    if prepared.spec.task != SFace.task:
        raise ModelUnavailableError(
            f"model {name!r} is a {prepared.spec.task!r} model, not an embedding network"
        )
    runtime = LiteModel(prepared.path, threads)
    side = runtime.input_shapes[runtime.input_name][1]
    if side in CROP_EMBEDDERS:
        return CROP_EMBEDDERS[side](runtime, prepared.spec)
    return SFace(runtime, prepared.spec)


def open_embedder(store: ModelStore, name: str, threads: int = 2) -> Embedder:
    """The named embedder: a fusion of networks or one network."""
    if store.spec(name).task == FUSION_TASK:
        return FusedEmbedder.from_store(store, name, open_network, threads)
    return open_network(store, name, threads)
