"""Verify pairs with any embedding model: a Keras checkpoint, a TFLite file or a store model.

The embedding recipe uses :func:`score_pairs` for its per-epoch validation and
:func:`resolve_embedder` for a distillation teacher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.shared.errors import ModelUnavailableError
from services.shared.model_store import ModelStore
from services.shared.runtime import LiteModel
from training.data.folders import load_images
from training.data.pairs import Pairs
from training.errors import TrainingError
from training.verification import VerificationReport, evaluate_scores


def tflite_embedder(path: Path) -> Any:
    """A function uint8 (N, H, W, 3) -> unit (N, D) running a TFLite file one image at a time."""
    model = LiteModel(path, 2)
    name = model.output_names[0]

    def run(images: NDArray[np.uint8]) -> NDArray[np.float32]:
        rows = [
            model.run(**{model.input_name: image[np.newaxis].astype(np.float32)})[name].reshape(-1)
            for image in images
        ]
        vectors = np.stack(rows)
        return np.asarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.float32)

    return run


def resolve_embedder(model: str, cache_dir: Path | None) -> Any:
    """An embedding function for a checkpoint path, a .tflite path or a manifest model name."""
    path = Path(model)
    if path.suffix == ".tflite":
        if not path.is_file():
            raise TrainingError(f"{path} does not exist")
        return tflite_embedder(path)
    if path.suffix == ".keras" or path.is_dir():
        from training.checkpoints import load_checkpoint
        from training.embedder import embed, embedder_of

        embedder = embedder_of(load_checkpoint(path))
        return lambda images: embed(embedder, images)
    try:
        return tflite_embedder(ModelStore(cache_dir).open(model).path)
    except ModelUnavailableError as error:
        raise TrainingError(str(error)) from error


def score_pairs(
    embed_fn: Any, pairs: Pairs, input_size: int
) -> tuple[NDArray[np.float64], VerificationReport]:
    """Cosine similarity of every pair and the verification report."""
    paths = pairs.images()
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise TrainingError(
            f"{len(missing)} pair images are missing (first: {missing[0]}); align them first"
        )
    vectors = embed_fn(load_images(paths, size=(input_size, input_size)))
    index = {p: i for i, p in enumerate(paths)}
    first = vectors[[index[p] for p in pairs.first]]
    second = vectors[[index[p] for p in pairs.second]]
    scores = np.sum(first * second, axis=1).astype(np.float64)
    return scores, evaluate_scores(scores, pairs.same)


def evaluate_checkpoint(
    model: str, pairs: Pairs, input_size: int, cache_dir: Path | None = None
) -> dict[str, Any]:
    """10-fold accuracy and TAR@FAR of a model on pairs."""
    _, report = score_pairs(resolve_embedder(model, cache_dir), pairs, input_size)
    return {"model": model, **report.as_dict()}
