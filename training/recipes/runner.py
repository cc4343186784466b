"""Shared training loop plumbing: run folder, checkpoints with resume, TensorBoard, CSV history.

A run folder holds ``checkpoints/last.keras`` (model + optimizer state, written every epoch),
``checkpoints/best.keras`` (best validation metric so far), ``state.json`` (epochs done, best
value), ``run.json`` (the recipe and the settings a resume must keep), ``history.csv`` (one row
per epoch, appended on resume) and ``logs/`` (TensorBoard).

Checkpoints and state are written to a temporary name and renamed, so a run killed while saving
keeps its previous epoch's files and can be resumed. A resume refuses settings that differ from
the run's (another recipe, or e.g. ``--epochs`` for a learning-rate schedule that ends there):
the saved optimizer would silently keep the old ones.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from training.checkpoints import load_checkpoint
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
    def settings(self) -> Path:
        """JSON with the recipe and the settings a resume must keep."""
        return self.root / "run.json"

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
        return _read_json(self.state)


def recorded_settings(checkpoint: Path) -> dict[str, Any]:
    """The ``run.json`` of the run a checkpoint belongs to (the run folder itself, or a
    ``.keras`` in its ``checkpoints/``); {} for a checkpoint outside a run or an older run."""
    checkpoint = Path(checkpoint)
    root = checkpoint if checkpoint.is_dir() else checkpoint.parent.parent
    if not checkpoint.is_dir() and checkpoint.parent.name != "checkpoints":
        return {}
    return _read_json(RunFolder(root).settings)


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from path ({} when absent); TrainingError when it cannot be read."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TrainingError(
            f"cannot read {path}: {error}; restore it or choose another --run-dir"
        ) from error
    if not isinstance(data, dict):
        raise TrainingError(f"{path} is not a JSON object; restore it or choose another --run-dir")
    return data


def _write_atomically(path: Path, write: Any) -> None:
    """write(temporary path), then rename it onto path: a kill mid-write keeps the old file."""
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write(partial)
    os.replace(partial, path)


def save_model(model: Any, path: Path) -> None:
    """``model.save`` without ever leaving a truncated checkpoint at path."""
    _write_atomically(path, model.save)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """The JSON file at path, replaced atomically."""
    _write_atomically(path, lambda target: target.write_text(json.dumps(data, indent=2)))


class CheckpointState(keras.callbacks.Callback):  # type: ignore[misc]
    """Save last.keras + state.json each epoch and best.keras when ``monitor`` improves."""

    def __init__(self, run: RunFolder, monitor: str, mode: str, best: float | None) -> None:
        super().__init__()
        self.run = run
        self.monitor = monitor
        self.sign = 1.0 if mode == "max" else -1.0
        self.best = best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        save_model(self.model, self.run.last)
        value = (logs or {}).get(self.monitor)
        if (
            value is not None
            and math.isfinite(float(value))
            and (self.best is None or self.sign * float(value) > self.sign * self.best)
        ):
            self.best = float(value)
            save_model(self.model, self.run.best)
        state = {"epochs_done": epoch + 1, "monitor": self.monitor, "best": self.best}
        write_json(self.run.state, state)


def prepare_run(
    run_dir: Path,
    resume: bool,
    fresh_model: Any,
    settings: Mapping[str, Any],
    added: Mapping[str, Any] | None = None,
) -> tuple[Any, int, float | None]:
    """The model to train and the epoch to start from.

    ``settings`` are the recipe's name (key ``recipe``) and the options a resume must keep. A
    fresh run refuses a folder that has a checkpoint already (pass resume or another folder)
    and records them in ``run.json``; a resumed run refuses other settings than the recorded
    ones (a run made before ``run.json`` existed is not checked) and loads ``last.keras`` with
    its optimizer state. ``added`` gives the value of a setting introduced later for runs that
    recorded none (runs made before the option existed ran with it).
    """
    run = RunFolder(Path(run_dir))
    if run.root.exists() and not run.root.is_dir():
        raise TrainingError(f"--run-dir {run.root} is a file, not a folder")
    wanted = json.loads(json.dumps(dict(settings)))  # as JSON would give them back
    if resume:
        if not run.last.is_file():
            raise TrainingError(f"cannot resume: {run.last} does not exist")
        state = run.read_state()
        recorded = _read_json(run.settings)
        if recorded:
            recorded = {**(added or {}), **recorded}
        differing = [
            f"{key} {wanted.get(key)!r} (the run's: {recorded.get(key)!r})"
            for key in sorted(set(recorded) | set(wanted))
            if recorded and recorded.get(key) != wanted.get(key)
        ]
        if differing:
            raise TrainingError(
                f"cannot resume {run.root} with other settings: {'; '.join(differing)}; "
                "resume with the run's settings or start another --run-dir"
            )
        model = load_checkpoint(run.last)
        return model, int(state.get("epochs_done", 0)), state.get("best")
    if run.last.is_file():
        raise TrainingError(
            f"{run.root} already holds a run; pass --resume to continue it or choose "
            "another --run-dir"
        )
    run.root.mkdir(parents=True, exist_ok=True)
    write_json(run.settings, wanted)
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
