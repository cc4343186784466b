"""Shared training loop plumbing: run folder, checkpoints with resume, TensorBoard, CSV history.

A run folder holds ``checkpoints/last.keras`` (model + optimizer state, written every epoch),
``checkpoints/best.keras`` (best validation metric so far), ``state.json`` (epochs done, best
value), ``history.csv`` (one row per epoch, appended on resume) and ``logs/`` (TensorBoard).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from training.errors import TrainingError
from training.progress import TqdmProgress


@dataclass(frozen=True)
class RunFolder:
    """Paths inside one training run's folder."""

    root: Path

    @property
    def last(self) -> Path:
        """Checkpoint written after every epoch."""
        return self.root / "checkpoints" / "last.keras"

    @property
    def best(self) -> Path:
        """Checkpoint of the best validation metric."""
        return self.root / "checkpoints" / "best.keras"

    @property
    def state(self) -> Path:
        """JSON with epochs done and the best metric."""
        return self.root / "state.json"

    @property
    def history(self) -> Path:
        """Per-epoch CSV."""
        return self.root / "history.csv"

    @property
    def logs(self) -> Path:
        """TensorBoard event files."""
        return self.root / "logs"

    def read_state(self) -> dict[str, Any]:
        """The saved state, or an empty dict for a fresh run."""
        if not self.state.is_file():
            return {}
        data: dict[str, Any] = json.loads(self.state.read_text())
        return data


class CheckpointState(keras.callbacks.Callback):  # type: ignore[misc]
    """Save last.keras + state.json each epoch and best.keras when ``monitor`` improves."""

    def __init__(self, run: RunFolder, monitor: str, mode: str, best: float | None) -> None:
        super().__init__()
        self.run = run
        self.monitor = monitor
        self.sign = 1.0 if mode == "max" else -1.0
        self.best = best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.run.last.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(self.run.last)
        value = (logs or {}).get(self.monitor)
        if (
            value is not None
            and math.isfinite(float(value))
            and (self.best is None or self.sign * float(value) > self.sign * self.best)
        ):
            self.best = float(value)
            self.model.save(self.run.best)
        state = {"epochs_done": epoch + 1, "monitor": self.monitor, "best": self.best}
        self.run.state.write_text(json.dumps(state, indent=2))


def prepare_run(run_dir: Path, resume: bool, fresh_model: Any) -> tuple[Any, int, float | None]:
    """The model to train and the epoch to start from.

    A fresh run refuses a folder that has a checkpoint already (pass resume or another folder);
    a resumed run loads ``last.keras`` with its optimizer state.
    """
    run = RunFolder(Path(run_dir))
    state = run.read_state()
    if resume:
        if not run.last.is_file():
            raise TrainingError(f"cannot resume: {run.last} does not exist")
        model = keras.models.load_model(run.last)
        return model, int(state.get("epochs_done", 0)), state.get("best")
    if run.last.is_file():
        raise TrainingError(
            f"{run.root} already holds a run; pass --resume to continue it or choose "
            "another --run-dir"
        )
    run.root.mkdir(parents=True, exist_ok=True)
    return fresh_model, 0, None


def fit(
    model: Any,
    train: Any,
    validation: Any,
    run_dir: Path,
    epochs: int,
    initial_epoch: int,
    steps_per_epoch: int | None,
    monitor: str,
    mode: str = "max",
    best: float | None = None,
    progress: bool = True,
    extra_callbacks: list[Any] | None = None,
) -> list[dict[str, float]]:
    """model.fit with checkpoints, TensorBoard, CSV history and tqdm; returns this call's epochs."""
    run = RunFolder(Path(run_dir))
    callbacks = [
        *(extra_callbacks or []),
        CheckpointState(run, monitor, mode, best),
        keras.callbacks.CSVLogger(str(run.history), append=initial_epoch > 0),
        keras.callbacks.TensorBoard(log_dir=str(run.logs), write_graph=False),
        TqdmProgress(steps_per_epoch, epochs, disable=not progress),
    ]
    if initial_epoch >= epochs:
        return []
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    keys = list(history.history)
    count = len(history.history[keys[0]]) if keys else 0
    return [{k: float(history.history[k][i]) for k in keys} for i in range(count)]
