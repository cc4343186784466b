"""Pruning and distillation applied to the CIFAR-10 recipe (the course's compression lab)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import build
from training.checkpoints import load_checkpoint
from training.compression.distill import Distiller
from training.compression.prune import MagnitudePruning, gzip_size, kernel_sparsity
from training.data.cifar import load_cifar10
from training.export import to_tflite
from training.progress import TqdmProgress
from training.recipes.cifar10 import INPUT_SHAPE, evaluate_model, make_dataset


def prune_cifar(
    checkpoint: Path,
    data_dir: Path,
    output: Path,
    sparsity: float = 0.5,
    epochs: int = 1,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    learning_rate: float = 3e-4,
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune a checkpoint while pruning it; accuracy, sparsity and sizes before/after."""
    model = load_checkpoint(checkpoint)
    train = load_cifar10(data_dir, "train", train_per_class)
    test = load_cifar10(data_dir, "test", test_per_class)
    before = evaluate_model(model, test)["accuracy"]
    dense_tflite = to_tflite(model)
    steps = int(np.ceil(len(train.labels) / batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    pruning = MagnitudePruning(sparsity, steps * epochs)
    history = model.fit(
        make_dataset(train, batch_size, True, True, 0),
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[pruning, TqdmProgress(steps, epochs, disable=not progress)],
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save(output)
    sparse_tflite = to_tflite(model)
    return {
        "accuracy_before": before,
        "accuracy_after": evaluate_model(model, test)["accuracy"],
        "sparsity": kernel_sparsity(model),
        "tflite_bytes": len(sparse_tflite),
        "gzip_bytes_before": gzip_size(dense_tflite),
        "gzip_bytes_after": gzip_size(sparse_tflite),
        "loss": [float(v) for v in history.history["loss"]],
        "checkpoint": str(output),
    }


def distill_cifar(
    teacher_checkpoint: Path,
    data_dir: Path,
    output: Path,
    student_arch: str = "resnet",
    student_options: dict[str, Any] | None = None,
    epochs: int = 3,
    temperature: float = 4.0,
    alpha: float = 0.3,
    train_per_class: int | None = None,
    test_per_class: int | None = None,
    learning_rate: float = 2e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a student from a teacher; teacher and student accuracy and parameter counts."""
    teacher = load_checkpoint(teacher_checkpoint)
    train = load_cifar10(data_dir, "train", train_per_class)
    test = load_cifar10(data_dir, "test", test_per_class)
    student = build(student_arch, INPUT_SHAPE, len(train.classes), **(student_options or {}))
    distiller = Distiller(student, teacher, temperature, alpha)
    steps = int(np.ceil(len(train.labels) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps * epochs)
    distiller.compile(optimizer=keras.optimizers.Adam(schedule))
    history = distiller.fit(
        make_dataset(train, batch_size, True, True, 0),
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[TqdmProgress(steps, epochs, disable=not progress)],
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    student.save(output)
    return {
        "teacher_accuracy": evaluate_model(teacher, test)["accuracy"],
        "student_accuracy": evaluate_model(student, test)["accuracy"],
        "teacher_params": int(teacher.count_params()),
        "student_params": int(student.count_params()),
        "loss": [float(v) for v in history.history["loss"]],
        "distill_loss": [float(v) for v in history.history["distill_loss"]],
        "checkpoint": str(output),
    }
