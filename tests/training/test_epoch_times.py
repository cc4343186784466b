"""Wall time per epoch from TensorBoard event files: resumed runs, re-trained epochs."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from training.epoch_times import EPOCH_TAG, EpochTime, epoch_times, write_epoch_times
from training.errors import TrainingError


def write_events(path: Path, stamps: list[tuple[int, float]]) -> None:
    """An event file as Keras' TensorBoard callback leaves it: a file-version event, then each
    epoch's summaries (only the timing tag matters) at the given wall times."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        start = tf.compat.v1.Event(wall_time=stamps[0][1] - 30.0, file_version="brain.Event:2")
        writer.write(start.SerializeToString())
        for epoch, wall_time in stamps:
            for tag in ("epoch_accuracy", EPOCH_TAG):
                event = tf.compat.v1.Event(wall_time=wall_time, step=epoch)
                event.summary.value.add(tag=tag, simple_value=0.5)
                writer.write(event.SerializeToString())


def test_each_process_times_its_epochs_after_the_first(tmp_path: Path) -> None:
    """The first start trains epoch indexes 0-3; a resume from an older checkpoint trains 2-4
    again: its index 3 (1-based epoch 4) replaces the first start's. The order comes from the
    times inside the files, not from their names."""
    first = [(0, 100.0), (1, 210.0), (2, 330.0), (3, 450.0)]
    write_events(tmp_path / "events.out.tfevents.999.vm.1.0.v2", first)
    resumed = [(2, 1000.0), (3, 1150.0), (4, 1350.0)]
    write_events(tmp_path / "events.out.tfevents.100.vm.2.0.v2", resumed)
    times = epoch_times(tmp_path)
    assert times == [
        EpochTime(2, 110.0, 0),
        EpochTime(3, 120.0, 0),
        EpochTime(4, 150.0, 1),
        EpochTime(5, 200.0, 1),
    ]
    summary = write_epoch_times(times, tmp_path / "out" / "times.csv")
    assert summary == {
        "epochs_timed": 4,
        "median_seconds": 135.0,
        "min_seconds": 110.0,
        "max_seconds": 200.0,
        "total_hours": 0.16,
    }
    lines = (tmp_path / "out" / "times.csv").read_text().splitlines()
    assert lines == [
        "epoch,seconds,process",
        "2,110.0,0",
        "3,120.0,0",
        "4,150.0,1",
        "5,200.0,1",
    ]


def test_no_logs_or_no_two_epochs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no TensorBoard event files"):
        epoch_times(tmp_path)
    write_events(tmp_path / "events.out.tfevents.1.vm.1.0.v2", [(0, 100.0)])
    with pytest.raises(TrainingError, match="no two consecutive epochs"):
        epoch_times(tmp_path)


def test_a_run_still_writing_its_last_record_is_read_up_to_it(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.vm.1.0.v2"
    write_events(path, [(0, 100.0), (1, 210.0), (2, 330.0)])
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # the last epoch's record is half written
    assert epoch_times(tmp_path) == [EpochTime(2, 110.0, 0)]
