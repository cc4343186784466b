"""Magnitude pruning (Zhu & Gupta, 2017) with a Keras callback, no extra package.

Every Conv2D, DepthwiseConv2D and Dense kernel is pruned layer by layer: its smallest-|w|
weights are set to zero. The sparsity ramps from 0 to the target with the cubic schedule
``s_t = s_f * (1 - (1 - t/T)^3)`` over the fine-tuning steps; masks are recomputed every
``frequency`` steps and re-applied after every step so pruned weights stay zero. Sparse
weights compress well (the gzip size of the TFLite shrinks); dense kernels keep their shape.
"""

from __future__ import annotations

import gzip
from typing import Any

import keras
import numpy as np

from training.errors import TrainingError

PRUNABLE = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def prunable_kernels(model: Any) -> list[Any]:
    """The kernel variables pruning applies to (nested models included)."""
    kernels = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, PRUNABLE):
            kernels.append(layer.kernel)
    return kernels


def kernel_sparsity(model: Any) -> float:
    """Share of zero weights over all prunable kernels."""
    kernels = [np.asarray(k.numpy()) for k in prunable_kernels(model)]
    total = sum(k.size for k in kernels)
    return float(sum(int(np.sum(k == 0)) for k in kernels) / max(total, 1))


def schedule(step: int, total: int, target: float) -> float:
    """The cubic sparsity ramp at a step."""
    progress = min(1.0, step / max(total, 1))
    return float(target * (1.0 - (1.0 - progress) ** 3))


class MagnitudePruning(keras.callbacks.Callback):  # type: ignore[misc]
    """Prune to ``target`` sparsity over ``total_steps`` training steps."""

    def __init__(self, target: float, total_steps: int, frequency: int = 10) -> None:
        super().__init__()
        if not 0.0 < target < 1.0:
            raise TrainingError(f"target sparsity must be in (0, 1), not {target}")
        self.target = target
        self.total_steps = total_steps
        self.frequency = max(1, frequency)
        self.step = 0
        self.masks: list[Any] = []
        self.kernels: list[Any] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.kernels = prunable_kernels(self.model)
        self.masks = [np.ones(k.shape, dtype=np.float32) for k in self.kernels]

    def _update_masks(self, sparsity: float) -> None:
        for index, kernel in enumerate(self.kernels):
            values = np.abs(np.asarray(kernel.numpy()))
            count = int(np.floor(sparsity * values.size))
            mask = np.ones_like(values, dtype=np.float32)
            if count > 0:
                order = np.argsort(values, axis=None)[:count]
                mask.reshape(-1)[order] = 0.0
            self.masks[index] = mask

    def _apply(self) -> None:
        for kernel, mask in zip(self.kernels, self.masks, strict=True):
            kernel.assign(np.asarray(kernel.numpy()) * mask)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.step += 1
        if self.step % self.frequency == 0 or self.step >= self.total_steps:
            self._update_masks(schedule(self.step, self.total_steps, self.target))
        self._apply()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._update_masks(self.target)
        self._apply()


def gzip_size(data: bytes) -> int:
    """Bytes after gzip -9 (how sparse weights pay off on disk and over the wire)."""
    return len(gzip.compress(data, compresslevel=9))
