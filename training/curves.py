"""Plot a run's ``history.csv`` (one line per metric) to a PNG with matplotlib (Agg backend)."""

from __future__ import annotations

import csv
from pathlib import Path

from training.errors import TrainingError


def plot_history(history: Path, output: Path, title: str = "") -> list[str]:
    """Write the curves; returns the metrics plotted. Losses left, the rest right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history.is_file():
        raise TrainingError(f"{history} does not exist")
    with history.open() as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise TrainingError(f"{history} has no epochs")
    epochs = [int(r["epoch"]) + 1 for r in rows]
    # Keras' CSVLogger writes NA for validation metrics of a run trained without validation
    metrics = [
        k
        for k in rows[0]
        if k not in ("epoch", "learning_rate") and any(r[k] not in ("NA", "") for r in rows)
    ]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for metric in metrics:
        values = [float(r[metric]) if r[metric] not in ("NA", "") else float("nan") for r in rows]
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
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100)
    plt.close(figure)
    return metrics
