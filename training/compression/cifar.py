"""Pruning and distillation applied to the CIFAR-10 recipe (the course's compression lab).

The in-memory steps (``fine_tune_pruned``, ``distill_into``, ``train_on_labels``) take a
model and loaded data, so a caller making several variants (``bench/cifar_compression.py``)
loads the data once; ``prune_cifar`` and ``distill_cifar`` are the file-to-file versions the
``prune cifar10`` / ``distill cifar10`` commands run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.architectures import build
from training.checkpoints import load_checkpoint
from training.compression.distill import Distiller
from training.compression.prune import MagnitudePruning, gzip_size, kernel_sparsity
from training.data.cifar import ArrayDataset, load_cifar10
from training.export import to_tflite
from training.progress import TqdmProgress
from training.recipes.cifar10 import INPUT_SHAPE, compile_classifier, evaluate_model, make_dataset


def _steps(train: ArrayDataset, batch_size: int) -> int:
    return int(np.ceil(len(train.labels) / batch_size))


def fine_tune_pruned(
    model: Any,
    train: ArrayDataset,
    sparsity: float = 0.5,
    epochs: int = 1,
    learning_rate: float = 3e-4,
    batch_size: int = 64,
    progress: bool = True,
) -> list[float]:
    """Prune ``model`` in place to ``sparsity`` while fine-tuning it (Adam); per-epoch losses."""
    steps = _steps(train, batch_size)
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
    return [float(v) for v in history.history["loss"]]


def distill_into(
    student: Any,
    teacher: Any,
    train: ArrayDataset,
    epochs: int = 3,
    temperature: float = 4.0,
    alpha: float = 0.3,
    learning_rate: float = 2e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``student`` in place on the teacher's soft targets (Adam, cosine decay).

    Returns the per-epoch ``loss`` and ``distill_loss`` (the T²-scaled KL term).
    """
    distiller = Distiller(student, teacher, temperature, alpha)
    steps = _steps(train, batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps * epochs)
    distiller.compile(optimizer=keras.optimizers.Adam(schedule))
    history = distiller.fit(
        make_dataset(train, batch_size, True, True, 0),
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[TqdmProgress(steps, epochs, disable=not progress)],
    )
    return {key: [float(v) for v in history.history[key]] for key in ("loss", "distill_loss")}


def train_on_labels(
    student: Any,
    train: ArrayDataset,
    epochs: int = 3,
    learning_rate: float = 2e-3,
    batch_size: int = 64,
    progress: bool = True,
) -> list[float]:
    """The distillation baseline: the same student, optimizer and schedule, labels only."""
    steps = _steps(train, batch_size)
    compile_classifier(student, learning_rate, steps * epochs, "adam")
    history = student.fit(
        make_dataset(train, batch_size, True, True, 0),
        epochs=epochs,
        verbose=0,
        shuffle=False,
        callbacks=[TqdmProgress(steps, epochs, disable=not progress)],
    )
    return [float(v) for v in history.history["loss"]]


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
    losses = fine_tune_pruned(model, train, sparsity, epochs, learning_rate, batch_size, progress)
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
        "loss": losses,
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
    history = distill_into(
        student, teacher, train, epochs, temperature, alpha, learning_rate, batch_size, progress
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    student.save(output)
    return {
        "teacher_accuracy": evaluate_model(teacher, test)["accuracy"],
        "student_accuracy": evaluate_model(student, test)["accuracy"],
        "teacher_params": int(teacher.count_params()),
        "student_params": int(student.count_params()),
        "loss": history["loss"],
        "distill_loss": history["distill_loss"],
        "checkpoint": str(output),
    }
