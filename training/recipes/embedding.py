"""Face embedding: a MobileFaceNet-style backbone trained with ArcFace, CosFace or triplet loss.

Data: a folder per identity of aligned face crops (``python -m training align`` makes them from
raw photos with the served detector). The network takes RGB 0-255 like SFace, so an exported
model is a drop-in for the embedding service; the [-1, 1] scaling is the model's first layer.
Validation: LFW-format pairs scored by cosine similarity (10-fold accuracy, TAR@FAR) at the end
of every epoch; the best checkpoint is the one with the best pair accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from training.data.folders import ImageFolder, load_images, scan_image_folder
from training.data.pairs import Pairs
from training.embedder import build_embedder, embed, embedder_of
from training.errors import TrainingError
from training.evaluate_embedding import resolve_embedder, score_pairs
from training.losses import BatchHardTripletLoss, L2Normalize, MarginHead
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

LOSSES = ("arcface", "cosface", "triplet", "distill")


@dataclass
class EmbeddingConfig:
    """Options of one embedding run."""

    data_dir: Path
    run_dir: Path
    loss: str = "arcface"
    input_size: int = 112
    embedding_size: int = 128
    width: float = 1.0
    epochs: int = 10
    batch_size: int = 32
    identities_per_batch: int = 8
    learning_rate: float = 1e-3
    scale: float = 32.0
    margin: float | None = None
    min_images: int = 2
    pairs: Pairs | None = None
    resume: bool = False
    seed: int = 0
    progress: bool = True
    teacher: str | None = None


def build_training_model(config: EmbeddingConfig, num_classes: int) -> Any:
    """The model fit() trains: margin head on top of the embedder, or the embedder alone."""
    embedder = build_embedder(config.input_size, config.embedding_size, config.width)
    if config.loss == "distill":
        outputs = L2Normalize(name="l2")(embedder.output)
        model = keras.Model(embedder.input, outputs, name="distill_model")
        loss: Any = keras.losses.CosineSimilarity()
    elif config.loss == "triplet":
        outputs = L2Normalize(name="l2")(embedder.output)
        model = keras.Model(embedder.input, outputs, name="triplet_model")
        loss = BatchHardTripletLoss(margin=config.margin if config.margin is not None else 0.3)
    else:
        default_margin = 0.5 if config.loss == "arcface" else 0.35
        labels = keras.Input((), dtype="int32", name="label")
        head = MarginHead(
            num_classes,
            kind=config.loss,
            scale=config.scale,
            margin=config.margin if config.margin is not None else default_margin,
            name="margin",
        )
        model = keras.Model(
            [embedder.input, labels], head([embedder.output, labels]), name=f"{config.loss}_model"
        )
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)
    return model


def augment(images: Any) -> Any:
    """Random horizontal flip and brightness/contrast jitter of a float 0-255 batch."""
    batch = tf.shape(images)[0]
    flips = tf.random.uniform([batch, 1, 1, 1]) < 0.5
    images = tf.where(flips, tf.reverse(images, axis=[2]), images)
    gain = tf.random.uniform([batch, 1, 1, 1], 0.8, 1.2)
    shift = tf.random.uniform([batch, 1, 1, 1], -20.0, 20.0)
    return tf.clip_by_value(images * gain + shift, 0.0, 255.0)


def pk_batches(
    labels: NDArray[np.int64], identities: int, per_identity: int, seed: int
) -> Iterator[NDArray[np.int64]]:
    """Endless P x K index batches: ``identities`` people, ``per_identity`` images each."""
    rng = np.random.default_rng(seed)
    by_label = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    usable = [c for c, idx in enumerate(by_label) if len(idx) >= 2]
    if len(usable) < 2:
        raise TrainingError("triplet loss needs at least 2 identities with 2+ images")
    while True:
        chosen = rng.choice(usable, size=min(identities, len(usable)), replace=False)
        yield np.concatenate(
            [
                rng.choice(by_label[c], size=per_identity, replace=len(by_label[c]) < per_identity)
                for c in chosen
            ]
        )


def make_dataset(
    images: NDArray[np.uint8], labels: NDArray[np.int64], config: EmbeddingConfig
) -> tuple[Any, int]:
    """(tf.data pipeline, steps per epoch) for the configured loss."""
    steps = max(1, len(labels) // config.batch_size)
    if config.loss == "distill":
        targets = teacher_embeddings(config, images)
        ds = tf.data.Dataset.from_tensor_slices((images, targets))
        ds = ds.shuffle(len(labels), seed=config.seed, reshuffle_each_iteration=True).repeat()
        ds = ds.batch(config.batch_size, drop_remainder=True)
        return ds.map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(2), steps
    if config.loss == "triplet":
        per_identity = max(2, config.batch_size // config.identities_per_batch)
        batches = pk_batches(labels, config.identities_per_batch, per_identity, config.seed)
        ds = tf.data.Dataset.from_generator(
            lambda: ((images[i], labels[i]) for i in batches),
            output_signature=(
                tf.TensorSpec((None, *images.shape[1:]), tf.uint8),
                tf.TensorSpec((None,), tf.int64),
            ),
        )
        ds = ds.map(lambda x, y: (augment(tf.cast(x, tf.float32)), y))
        return ds.prefetch(2), steps
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(labels), seed=config.seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(config.batch_size, drop_remainder=True)
    ds = ds.map(lambda x, y: ((augment(tf.cast(x, tf.float32)), tf.cast(y, tf.int32)), y))
    return ds.prefetch(2), steps


def teacher_embeddings(config: EmbeddingConfig, images: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Unit embeddings of the training images by the teacher (a store model name or .tflite).

    Knowledge distillation for embeddings: the student learns to reproduce the teacher's
    vectors (cosine loss), no identity labels needed.
    """
    if not config.teacher:
        raise TrainingError("--loss distill needs --teacher (a model name such as sface)")
    teacher = resolve_embedder(config.teacher, None)
    vectors: NDArray[np.float32] = teacher(images)
    if vectors.shape[1] != config.embedding_size:
        raise TrainingError(
            f"teacher gives {vectors.shape[1]}-d embeddings; set --embedding-size to match"
        )
    return vectors


class PairsValidation(keras.callbacks.Callback):  # type: ignore[misc]
    """Adds ``val_pair_accuracy`` (10-fold) and ``val_tar_far01`` to the epoch logs."""

    def __init__(self, pairs: Pairs, input_size: int) -> None:
        super().__init__()
        self.pairs = pairs
        self.input_size = input_size
        self.embedder: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # one embedder (sharing the weights) for the whole run: predict is traced once
        self.embedder = embedder_of(self.model)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        embedder = self.embedder
        _, report = score_pairs(lambda x: embed(embedder, x), self.pairs, self.input_size)
        if logs is not None:
            logs["val_pair_accuracy"] = report.accuracy
            logs["val_tar_far01"] = report.tar_at_far.get(0.1) or 0.0


def load_identities(config: EmbeddingConfig) -> tuple[ImageFolder, NDArray[np.uint8]]:
    """The identity folders (those with min_images or more) and their images in memory."""
    folder = scan_image_folder(
        config.data_dir, min_classes=2, min_per_class=config.min_images, skip_small=True
    )
    images = load_images(folder.paths, size=(config.input_size, config.input_size))
    return folder, images


def train(config: EmbeddingConfig) -> dict[str, Any]:
    """Train (or resume) an embedding run; returns history and the final pair evaluation."""
    if config.loss not in LOSSES:
        raise TrainingError(f"unknown loss {config.loss!r}; choose one of {', '.join(LOSSES)}")
    keras.utils.set_random_seed(config.seed)
    folder, images = load_identities(config)
    log.info("%d identities, %d images", len(folder.classes), len(folder))
    fresh = build_training_model(config, len(folder.classes))
    kept = {  # the model, its loss and what is monitored were made from these
        "recipe": "embedding",
        "loss": config.loss,
        "input_size": config.input_size,
        "embedding_size": config.embedding_size,
        "width": config.width,
        "learning_rate": config.learning_rate,
        "scale": config.scale,
        "margin": config.margin,
        "pairs": config.pairs is not None,
    }
    model, initial_epoch, best = prepare_run(config.run_dir, config.resume, fresh, kept)
    dataset, steps = make_dataset(images, folder.labels, config)
    extra = [PairsValidation(config.pairs, config.input_size)] if config.pairs else []
    history = fit(
        model,
        dataset,
        None,
        config.run_dir,
        config.epochs,
        initial_epoch,
        steps,
        monitor="val_pair_accuracy" if config.pairs else "loss",
        mode="max" if config.pairs else "min",
        best=best,
        progress=config.progress,
        extra_callbacks=extra,
    )
    result: dict[str, Any] = {
        "history": history,
        "initial_epoch": initial_epoch,
        "identities": len(folder.classes),
        "images": len(folder),
    }
    if config.pairs:
        embedder = embedder_of(model)
        _, report = score_pairs(lambda x: embed(embedder, x), config.pairs, config.input_size)
        result["pairs"] = report.as_dict()
    return result
