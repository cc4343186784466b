"""The run folder: atomic checkpoints, resume checks, unreadable files as clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from training.errors import TrainingError
from training.recipes.runner import RunFolder, prepare_run, save_model

SETTINGS = {"recipe": "tiny", "epochs": 3, "learning_rate": 0.1, "options": {"width": 2}}


def tiny_model(seed: int = 0) -> Any:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def start(run_dir: Path) -> Any:
    model, initial_epoch, best = prepare_run(run_dir, False, tiny_model(), SETTINGS)
    assert (initial_epoch, best) == (0, None)
    run = RunFolder(run_dir)
    save_model(model, run.last)
    run.state.write_text(json.dumps({"epochs_done": 2, "monitor": "loss", "best": 0.5}))
    return model


def test_a_resume_keeps_the_recorded_settings(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    model = start(run_dir)
    assert json.loads((run_dir / "run.json").read_text()) == SETTINGS
    resumed, initial_epoch, best = prepare_run(run_dir, True, None, SETTINGS)
    assert (initial_epoch, best) == (2, 0.5)
    weights = [np.asarray(w) for w in model.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(resumed.get_weights(), weights, strict=True))

    other = {**SETTINGS, "epochs": 40, "recipe": "other"}
    with pytest.raises(TrainingError) as caught:
        prepare_run(run_dir, True, None, other)
    assert str(caught.value) == (
        f"cannot resume {run_dir} with other settings: epochs 40 (the run's: 3); "
        "recipe 'other' (the run's: 'tiny'); resume with the run's settings or start "
        "another --run-dir"
    )
    with pytest.raises(TrainingError, match="already holds a run"):
        prepare_run(run_dir, False, tiny_model(), SETTINGS)


def test_a_run_from_before_run_json_resumes_unchecked(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    start(run_dir)
    (run_dir / "run.json").unlink()
    _, initial_epoch, _ = prepare_run(run_dir, True, None, {**SETTINGS, "epochs": 9})
    assert initial_epoch == 2


def test_a_setting_added_later_takes_its_old_value_for_older_runs(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    start(run_dir)  # recorded without "precision": it ran in float32
    newer = {**SETTINGS, "precision": "float32"}
    added = {"precision": "float32"}
    assert prepare_run(run_dir, True, None, newer, added=added)[1] == 2
    with pytest.raises(TrainingError, match=r"precision 'bfloat16' \(the run's: 'float32'\)"):
        prepare_run(run_dir, True, None, {**newer, "precision": "bfloat16"}, added=added)


def test_a_save_killed_midway_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    start(run_dir)
    last = RunFolder(run_dir).last
    before = last.read_bytes()

    class KilledError(Exception):
        pass

    newer = tiny_model(seed=1)

    def save_then_die(path: str | Path, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a zip")  # what a kill leaves behind
        raise KilledError

    newer.save = save_then_die
    with pytest.raises(KilledError):
        save_model(newer, last)
    assert last.read_bytes() == before
    _, initial_epoch, _ = prepare_run(run_dir, True, None, SETTINGS)
    assert initial_epoch == 2


def test_unreadable_run_files_are_clear_errors(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    start(run_dir)
    run = RunFolder(run_dir)
    run.state.write_text('{"epochs_done": 2, "mon')  # cut short by a kill before this change
    with pytest.raises(TrainingError, match=r"cannot read .*state\.json: .*restore it"):
        prepare_run(run_dir, True, None, SETTINGS)
    run.state.write_text("[1, 2]")
    with pytest.raises(TrainingError, match=r"state\.json is not a JSON object"):
        prepare_run(run_dir, True, None, SETTINGS)
    run.state.write_text(json.dumps({"epochs_done": 2}))
    run.last.write_bytes(run.last.read_bytes()[:100])  # a truncated checkpoint
    with pytest.raises(TrainingError, match=r"cannot load checkpoint .*last\.keras"):
        prepare_run(run_dir, True, None, SETTINGS)

    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    with pytest.raises(TrainingError, match="is a file, not a folder"):
        prepare_run(a_file, False, tiny_model(), SETTINGS)


def test_an_export_that_fails_its_check_is_not_registered(tmp_path: Path) -> None:
    """The check runs on the written file before the manifest is: a failed one leaves neither
    the file nor a manifest behind (nothing servable that was never checked)."""
    from training.export import export_model

    class MismatchError(Exception):
        pass

    checked: list[Path] = []

    def failing_check(tflite: Path) -> None:
        checked.append(tflite)
        assert tflite.stat().st_size > 0
        raise MismatchError("TFLite differs from Keras")

    output, manifests = tmp_path / "out" / "tiny.tflite", tmp_path / "manifests"
    spec = {"name": "x", "shape": [1, 4], "dtype": "float32"}
    with pytest.raises(MismatchError):
        export_model(
            tiny_model(), output, "tiny-checked", "1", "test", "tiny", spec,
            manifest_dir=manifests, cache_dir=tmp_path / "cache", check=failing_check,
        )  # fmt: skip
    assert checked == [output]
    assert not output.exists() and not (manifests / "tiny-checked.toml").exists()
