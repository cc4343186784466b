"""CIFAR-10 classification: VGG-style, small ResNet or MobileNetV2 on 32x32 images.

Data comes from a local folder (``training.data.cifar``); pixels are scaled to [-1, 1]; training
augmentation is the standard one (pad 4 pixels by reflection, random 32x32 crop, horizontal
flip). Cross-entropy on logits with cosine learning-rate decay, accuracy on the test split each
epoch. Two optimizers: Adam (the quick default) and SGD with Nesterov momentum 0.9 and weight
decay, close to the recipe of He et al. behind the published ResNet-20 figure (91.25%: plain
momentum, L2 1e-4 in the gradient, a step schedule). Keras' weight decay is decoupled
(``w -= lr * decay * w`` each step, not amplified by momentum), so 5e-4 here is a weaker
regulariser than an L2 coefficient of 5e-4.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from numpy.typing import NDArray

from training.architectures import build
from training.data.cifar import ArrayDataset, load_cifar10
from training.errors import TrainingError
from training.precision import training_precision, with_float32_outputs
from training.recipes.runner import fit, prepare_run

log = logging.getLogger(__name__)

INPUT_SHAPE = (32, 32, 3)


@dataclass
class CifarConfig:
    """Options of one CIFAR-10 run (the CLI fills these)."""

    data_dir: Path
    run_dir: Path
    architecture: str = "resnet"
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    train_per_class: int | None = None
    test_per_class: int | None = None
    augment: bool = True
    optimizer: str = "adam"
    weight_decay: float = 0.0
    precision: str = "float32"  # or "bfloat16" (mixed; training.precision)
    resume: bool = False
    seed: int = 0
    progress: bool = True
    arch_options: dict[str, Any] = field(default_factory=dict)


def to_float(images: Any) -> Any:
    """uint8 [0, 255] -> float32 [-1, 1] (tensor or array)."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def augment_batch(images: Any) -> Any:
    """Reflect-pad by 4, random 32x32 crop, random horizontal flip (per image)."""
    padded = tf.pad(images, [[0, 0], [4, 4], [4, 4], [0, 0]], mode="REFLECT")
    batch = tf.shape(images)[0]
    crops = tf.map_fn(
        lambda image: tf.image.random_crop(image, INPUT_SHAPE),
        padded,
        fn_output_signature=tf.float32,
    )
    flips = tf.random.uniform([batch, 1, 1, 1]) < 0.5
    return tf.where(flips, tf.reverse(crops, axis=[2]), crops)


def make_dataset(
    data: ArrayDataset, batch_size: int, training: bool, augment: bool, seed: int
) -> Any:
    """A batched tf.data pipeline of (float image, label)."""
    ds = tf.data.Dataset.from_tensor_slices((data.images, data.labels))
    if training:
        ds = ds.shuffle(len(data.labels), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (to_float(x), y))
    if training and augment:
        ds = ds.map(lambda x, y: (augment_batch(x), y))
    return ds.prefetch(2)


OPTIMIZERS = ("adam", "sgd")
SGD_MOMENTUM = 0.9


def make_optimizer(name: str, schedule: Any, weight_decay: float) -> Any:
    """Adam, or SGD with Nesterov momentum; weight decay (decoupled, x lr) when > 0."""
    if weight_decay < 0:
        raise TrainingError(f"--weight-decay must be >= 0, not {weight_decay}")
    decay = weight_decay if weight_decay > 0 else None
    if name == "adam":
        return keras.optimizers.Adam(schedule, weight_decay=decay)
    if name == "sgd":
        return keras.optimizers.SGD(
            schedule, momentum=SGD_MOMENTUM, nesterov=True, weight_decay=decay
        )
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


def compile_classifier(
    model: Any,
    learning_rate: float,
    total_steps: int,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
) -> None:
    """Optimizer + cosine decay, sparse cross-entropy on logits, accuracy."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, total_steps))
    model.compile(
        optimizer=make_optimizer(optimizer, schedule, weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def train(config: CifarConfig) -> dict[str, Any]:
    """Train (or resume) a run; returns the per-epoch history and the final test accuracy."""
    keras.utils.set_random_seed(config.seed)
    train_data = load_cifar10(config.data_dir, "train", config.train_per_class)
    test_data = load_cifar10(config.data_dir, "test", config.test_per_class)
    log.info("CIFAR-10: %d train, %d test images", len(train_data.labels), len(test_data.labels))
    steps = int(np.ceil(len(train_data.labels) / config.batch_size))
    with training_precision(config.precision):
        return _train(config, train_data, test_data, steps)


def _train(
    config: CifarConfig, train_data: ArrayDataset, test_data: ArrayDataset, steps: int
) -> dict[str, Any]:
    built = build(config.architecture, INPUT_SHAPE, len(train_data.classes), **config.arch_options)
    fresh = with_float32_outputs(built)
    kept = {  # the schedule and optimizer saved in the checkpoint were made from these
        "recipe": "cifar10",
        "architecture": config.architecture,
        "arch_options": config.arch_options,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "optimizer": config.optimizer,
        "weight_decay": config.weight_decay,
        "train_per_class": config.train_per_class,
        "precision": config.precision,
    }
    model, initial_epoch, best = prepare_run(
        config.run_dir, config.resume, fresh, kept, added={"precision": "float32"}
    )
    if initial_epoch == 0:
        compile_classifier(
            model,
            config.learning_rate,
            steps * config.epochs,
            config.optimizer,
            config.weight_decay,
        )
    history = fit(
        model,
        make_dataset(train_data, config.batch_size, True, config.augment, config.seed),
        make_dataset(test_data, 256, False, False, config.seed),
        config.run_dir,
        config.epochs,
        initial_epoch,
        steps,
        monitor="val_accuracy",
        best=best,
        progress=config.progress,
    )
    result = evaluate_model(model, test_data)
    return {"history": history, "initial_epoch": initial_epoch, **result}


def predict(model: Any, images: NDArray[np.uint8], batch_size: int = 256) -> NDArray[np.int64]:
    """Predicted class per image."""
    logits = model.predict(to_float(images), batch_size=batch_size, verbose=0)
    return np.asarray(np.argmax(logits, axis=1), dtype=np.int64)


def evaluate_model(model: Any, data: ArrayDataset) -> dict[str, Any]:
    """Top-1 accuracy, per-class accuracy and the confusion matrix."""
    predicted = predict(model, data.images)
    classes = len(data.classes)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (data.labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {
        "accuracy": float(np.mean(predicted == data.labels)),
        "per_class": {name: float(a) for name, a in zip(data.classes, per_class, strict=True)},
        "confusion": confusion.tolist(),
        "images": len(data.labels),
    }


def evaluate(checkpoint: Path, data_dir: Path, test_per_class: int | None = None) -> dict[str, Any]:
    """Evaluate a saved checkpoint on the test split."""
    from training.checkpoints import check_model_io, keras_io, load_checkpoint

    model = load_checkpoint(checkpoint)
    data = load_cifar10(data_dir, "test", test_per_class)
    check_model_io(checkpoint, keras_io(model), INPUT_SHAPE, {"logits": len(data.classes)})
    return evaluate_model(model, data)
