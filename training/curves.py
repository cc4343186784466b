"""Plot a run's ``history.csv`` (one line per metric) to a PNG with matplotlib (Agg backend)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from training.errors import TrainingError

MISSING = ("NA", "")  # Keras' CSVLogger writes NA for metrics of a run without validation
NOT_PLOTTED = ("epoch", "learning_rate")


def read_history(history: Path) -> tuple[list[int], dict[str, list[float]]]:
    """Epoch numbers (from 1) and each metric's values (NaN where missing) of a history CSV.

    A last line cut short (a run still writing it) is left out; any other malformed line, a
    file without an ``epoch`` column or a file that is not text is a TrainingError.
    """
    if not history.is_file():
        raise TrainingError(f"{history} does not exist")
    try:
        with history.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TrainingError(f"cannot read {history}: {error}") from error
    if rows and None in rows[-1].values():
        rows.pop()  # the line being written
    if not rows:
        raise TrainingError(f"{history} has no epochs")
    if "epoch" not in rows[0]:
        raise TrainingError(f"{history} has no epoch column (not a Keras history CSV)")
    epochs: list[int] = []
    values: dict[str, list[float]] = {k: [] for k in rows[0] if k not in NOT_PLOTTED}
    for line, row in enumerate(rows, start=2):
        try:
            epochs.append(int(row["epoch"]) + 1)
            for metric, column in values.items():
                text = row[metric]
                column.append(float("nan") if text in MISSING else float(text))
        except (TypeError, ValueError) as error:
            raise TrainingError(f"{history}:{line}: not a row of numbers ({error})") from error
    return epochs, {k: v for k, v in values.items() if not all(math.isnan(x) for x in v)}


def plot_history(history: Path, output: Path, title: str = "") -> list[str]:
    """Write the curves; returns the metrics plotted. Losses left, the rest right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs, metrics = read_history(history)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for metric, values in metrics.items():
        axis = left if "loss" in metric else right
        axis.plot(epochs, values, marker="o", label=metric)
    for axis, label in ((left, "loss"), (right, "metric")):
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend()
    figure.suptitle(title or history.parent.name)
    figure.tight_layout()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(output, dpi=100)
    except OSError as error:
        raise TrainingError(f"cannot write {output}: {error}") from error
    finally:
        plt.close(figure)
    return list(metrics)
