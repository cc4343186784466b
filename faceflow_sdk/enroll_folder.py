"""Enroll a folder of photos, one sub-folder per user, resumable through a state file.

``FOLDER/<user_id>/*.jpg`` -> each photo is enrolled as a face of ``user_id`` in the group. After
every photo the state file (JSON, written atomically) records what is done, so a run that was
interrupted (Ctrl-C, the server went away) continues where it stopped; photos that failed are
tried again on the next run and listed in the summary with their error code.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from faceflow_sdk.client import FaceflowClient
from faceflow_sdk.errors import (
    AlreadyExistsError,
    ConnectionFailedError,
    FaceflowError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
STATE_VERSION = 1
RATE_LIMIT_RETRIES = 5
ALREADY_ENROLLED = "(enrolled before; token unknown)"
# Errors after which no other photo can succeed either: stop, keep the state, report.
FATAL_ERRORS = (ConnectionFailedError, UnauthenticatedError, ServiceUnavailableError)


@dataclass(frozen=True)
class Photo:
    """One photo to enroll: its user (the sub-folder's name) and path."""

    user_id: str
    path: Path
    key: str  # "user/file.jpg", the id in the state file


@dataclass
class Failure:
    """A photo that could not be enrolled."""

    key: str
    code: str
    message: str


@dataclass
class EnrollSummary:
    """What a run did."""

    total: int = 0
    enrolled: int = 0
    already_done: int = 0
    failures: list[Failure] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    stopped_by: FaceflowError | None = None

    @property
    def complete(self) -> bool:
        """Every photo is enrolled (this run or an earlier one)."""
        return self.stopped_by is None and not self.failures


def find_photos(folder: Path) -> tuple[list[Photo], list[str]]:
    """Photos in user sub-folders (sorted), and the names of entries that were ignored."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    photos: list[Photo] = []
    ignored: list[str] = []
    for user_dir in sorted(folder.iterdir()):
        if user_dir.name.startswith("."):
            continue
        if not user_dir.is_dir():
            ignored.append(user_dir.name)
            continue
        for path in sorted(user_dir.iterdir()):
            key = f"{user_dir.name}/{path.name}"
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                photos.append(Photo(user_dir.name, path, key))
            elif not path.name.startswith("."):
                ignored.append(key)
    return photos, ignored


class EnrollState:
    """The state file: photos done (key -> face_token) and the last failures."""

    def __init__(self, path: Path, group_id: str) -> None:
        self.path = path
        self.group_id = group_id
        self.done: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(
                    f"{path} is not an enroll-folder state file ({error}); pass another --state"
                ) from error
            if not isinstance(data, dict) or not all(
                isinstance(data.get(key, {}), dict) for key in ("done", "failed")
            ):
                raise ValueError(f"{path} is not an enroll-folder state file; pass another --state")
            if data.get("group_id") != group_id:
                raise ValueError(
                    f"{path} records an enrollment into group {data.get('group_id')!r}, "
                    f"not {group_id!r}; pass another --state file"
                )
            self.done = {str(k): str(v) for k, v in data.get("done", {}).items()}
            self.failed = {str(k): str(v) for k, v in data.get("failed", {}).items()}

    def check_writable(self) -> None:
        """Write the state once before anything is enrolled: a state file that cannot be written
        (a read-only photo folder, a missing --state folder) is an error before any work that
        would then be done again on every rerun."""
        try:
            self.save()
        except OSError as error:
            raise ValueError(
                f"cannot write the state file {self.path} ({error.strerror or error}); "
                "pass --state with a writable path"
            ) from error

    def save(self) -> None:
        """Write atomically (a crash never leaves half a file)."""
        payload = {
            "version": STATE_VERSION,
            "group_id": self.group_id,
            "done": self.done,
            "failed": self.failed,
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
        os.replace(temporary, self.path)


class ProgressBar:
    """A one-line text progress bar on a terminal stream (silent when disabled)."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.started = time.monotonic()

    def update(self, done: int, label: str) -> None:
        """Redraw with done of total photos handled."""
        if self.stream is None:
            return
        filled = int(self.width * done / self.total)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        line = (
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
            f"{rate:4.1f}/s {label[:40]:<40}"
        )
        self.stream.write(line)
        self.stream.flush()

    def finish(self) -> None:
        """End the line."""
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def default_state_path(folder: Path, group_id: str) -> Path:
    """``FOLDER/.faceflow-enroll-<group>.json``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in group_id)
    return folder / f".faceflow-enroll-{safe}.json"


def enroll_folder(
    client: FaceflowClient,
    group_id: str,
    folder: Path,
    *,
    state_path: Path | None = None,
    progress: TextIO | None = None,
    quality_control: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> EnrollSummary:
    """Create the group if needed, then enroll every photo not yet done."""
    photos, ignored = find_photos(folder)
    state = EnrollState(state_path or default_state_path(folder, group_id), group_id)
    state.check_writable()
    summary = EnrollSummary(total=len(photos), ignored=ignored)
    try:
        client.create_group(group_id)
    except AlreadyExistsError:
        pass
    except FATAL_ERRORS as error:
        summary.stopped_by = error
        return summary
    bar = ProgressBar(len(photos), progress)
    try:
        for index, photo in enumerate(photos):
            bar.update(index, photo.key)
            if photo.key in state.done:
                summary.already_done += 1
                continue
            try:
                result = _enroll_one(client, group_id, photo, quality_control, sleep)
            except KeyboardInterrupt:
                summary.stopped_by = FaceflowError("interrupted by the user", code="INTERRUPTED")
                break
            except FATAL_ERRORS as error:
                summary.stopped_by = error
                break
            except AlreadyExistsError:
                # enrolled before, by a run whose state file is gone: nothing to do
                state.done[photo.key] = ALREADY_ENROLLED
                state.failed.pop(photo.key, None)
                summary.already_done += 1
            except FaceflowError as error:
                state.failed[photo.key] = f"{error.code}: {error.message}"
                summary.failures.append(Failure(photo.key, error.code, error.message))
            except OSError as error:
                state.failed[photo.key] = f"UNREADABLE: {error}"
                summary.failures.append(Failure(photo.key, "UNREADABLE", str(error)))
            else:
                state.done[photo.key] = result
                state.failed.pop(photo.key, None)
                summary.enrolled += 1
            state.save()
        else:
            bar.update(len(photos), "done")
    finally:
        state.save()
        bar.finish()
    return summary


def _enroll_one(
    client: FaceflowClient,
    group_id: str,
    photo: Photo,
    quality_control: str | None,
    sleep: Callable[[float], None],
) -> str:
    """Enroll one photo, waiting and retrying while the key is rate limited."""
    attempt = 0
    while True:
        try:
            return client.enroll(
                group_id, photo.user_id, photo.path, quality_control=quality_control
            )["face_token"]
        except RateLimitedError:
            if attempt >= RATE_LIMIT_RETRIES:
                raise
            sleep(min(2.0**attempt, 30.0))
            attempt += 1
