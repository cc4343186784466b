"""enroll-folder's local parts: finding photos, the state file and the progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from faceflow_sdk.enroll_folder import (
    EnrollState,
    ProgressBar,
    default_state_path,
    find_photos,
)
from tests.clients import photos


def test_photos_are_found_per_user_folder_sorted(tmp_path: Path) -> None:
    tree = photos.enroll_tree(tmp_path / "people")
    (tree / "eileen" / "readme.md").write_text("x")
    (tree / ".hidden").mkdir()
    found, ignored = find_photos(tree)
    assert [(p.user_id, p.key) for p in found] == [
        ("eileen", "eileen/a.jpg"),
        ("eileen", "eileen/b.jpg"),
        ("nobody", "nobody/blank.jpg"),
    ]
    assert sorted(ignored) == ["eileen/readme.md", "notes.txt"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        find_photos(tmp_path / "absent")


def test_state_round_trip_and_group_mismatch(tmp_path: Path) -> None:
    path = default_state_path(tmp_path, "my group/1")
    assert path.name == ".faceflow-enroll-my_group_1.json"
    state = EnrollState(path, "my group/1")
    state.done["a/1.jpg"] = "token"
    state.failed["a/2.jpg"] = "NO_FACE: none"
    state.save()
    assert not path.with_name(path.name + ".tmp").exists()
    again = EnrollState(path, "my group/1")
    assert again.done == {"a/1.jpg": "token"} and again.failed == {"a/2.jpg": "NO_FACE: none"}
    assert json.loads(path.read_text())["group_id"] == "my group/1"
    with pytest.raises(ValueError, match="another --state file"):
        EnrollState(path, "other")


def test_progress_bar_draws_counts_on_its_stream() -> None:
    stream = io.StringIO()
    bar = ProgressBar(4, stream, width=8)
    bar.update(2, "alice/1.jpg")
    bar.finish()
    assert stream.getvalue().startswith("\r[####....] 2/4 ")
    assert "alice/1.jpg" in stream.getvalue() and stream.getvalue().endswith("\n")
    silent = ProgressBar(4, None)
    silent.update(1, "x")
    silent.finish()
