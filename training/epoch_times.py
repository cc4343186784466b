"""Wall time per epoch of a run, read back from its TensorBoard event files.

Keras' TensorBoard callback writes each epoch's summaries (``epoch_loss``, step = the epoch's
index) with the wall-clock time they were written, one event file per process: a resumed run
adds a file. An epoch's time is the gap between its summary and the previous epoch's in the
same file. The first epoch of each file is left out: its gap from the file's creation holds
the process's start-up (and, after a resume, the checkpoint load). The times are what the run
really took on its machine, other jobs included; the median is the figure to quote.
"""

from __future__ import annotations

import csv
import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

from training.errors import TrainingError

EPOCH_TAG = "epoch_loss"


@dataclass(frozen=True)
class EpochTime:
    """One epoch (1-based, as the history's ``epoch`` + 1) and the seconds it took."""

    epoch: int
    seconds: float
    process: int  # which process wrote it: 0 the first start, 1 the first resume, ...


def _epoch_stamps(path: Path) -> list[tuple[int, float]]:
    """(epoch index, wall time) of each ``EPOCH_TAG`` summary in one event file."""
    import tensorflow as tf

    stamps: list[tuple[int, float]] = []
    records = iter(tf.data.TFRecordDataset(str(path)))
    while True:
        try:
            record = next(records)
        except StopIteration:
            return stamps
        except tf.errors.DataLossError:  # the last record of a run still writing: cut short
            return stamps
        event = tf.compat.v1.Event.FromString(record.numpy())
        if any(value.tag == EPOCH_TAG for value in event.summary.value):
            stamps.append((int(event.step), float(event.wall_time)))


def epoch_times(logs: Path) -> list[EpochTime]:
    """Every timed epoch of the run whose TensorBoard ``logs/train`` folder is ``logs``,
    ordered by epoch; a later process's epoch replaces an earlier one of the same number (it
    was trained again after a resume from an older checkpoint)."""
    files = list(logs.glob("events.out.tfevents.*"))
    if not files:
        raise TrainingError(f"no TensorBoard event files in {logs}")
    runs = sorted((s for s in map(_epoch_stamps, files) if s), key=lambda s: s[0][1])
    times: dict[int, EpochTime] = {}
    for process, stamps in enumerate(runs):  # in the order the processes ran
        for (_, before), (epoch, after) in itertools.pairwise(stamps):
            times[epoch + 1] = EpochTime(epoch + 1, after - before, process)
    if not times:
        raise TrainingError(f"{logs}: no two consecutive epochs in one process to time")
    return [times[epoch] for epoch in sorted(times)]


def write_epoch_times(times: list[EpochTime], output: Path) -> dict[str, float | int]:
    """Write ``epoch,seconds,process`` rows to ``output``; returns the summary figures."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "seconds", "process"])
        for row in times:
            writer.writerow([row.epoch, f"{row.seconds:.1f}", row.process])
    seconds = [row.seconds for row in times]
    return {
        "epochs_timed": len(times),
        "median_seconds": round(statistics.median(seconds), 1),
        "min_seconds": round(min(seconds), 1),
        "max_seconds": round(max(seconds), 1),
        "total_hours": round(sum(seconds) / 3600, 2),
    }
