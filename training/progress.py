"""A tqdm progress bar per epoch for ``model.fit`` (Keras' own bar is turned off)."""

from __future__ import annotations

from typing import Any

import keras
from tqdm import tqdm


class TqdmProgress(keras.callbacks.Callback):  # type: ignore[misc]
    """One bar per epoch showing the running loss; the epoch's metrics on completion."""

    def __init__(self, steps_per_epoch: int | None, epochs: int, disable: bool = False) -> None:
        super().__init__()
        self.steps = steps_per_epoch
        self.epochs = epochs
        self.disable = disable
        self._bar: Any = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._bar = tqdm(
            total=self.steps,
            desc=f"epoch {epoch + 1}/{self.epochs}",
            unit="step",
            leave=True,
            disable=self.disable,
            dynamic_ncols=True,
        )

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if logs and "loss" in logs:
                self._bar.set_postfix(loss=f"{float(logs['loss']):.4f}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._bar is not None:
            shown = {k: f"{float(v):.4f}" for k, v in (logs or {}).items() if _is_number(v)}
            self._bar.set_postfix(shown)
            self._bar.close()
            self._bar = None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
