"""SQLite+FAISS: a failure after the SQLite commit (index save, live index update) never fails
the write, is retried after a back-off, and never lets the change log be trimmed past a face."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.embedding.store.index_sync import SAVE_RETRY_FIRST_S
from services.embedding.store.sqlite_faiss import SqliteFaissStore
from tests.services.embedding.store.gallery_writer import DIMENSION, unit_vector


def enroll(store: SqliteFaissStore, index: int) -> str:
    return store.add_face("t", "g", f"u{index}", unit_vector(index), f"{index:064x}").face_token


def assert_found(store: SqliteFaissStore, index: int, token: str) -> None:
    match = store.search("t", ["g"], unit_vector(index), 1)[0]
    assert (match.user_id, match.face_token) == (f"u{index}", token)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_save_keeps_the_enroll_and_is_retried_after_a_back_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "gallery"
    store = SqliteFaissStore(folder, DIMENSION, save_every=2)
    clock = Clock()
    store._sync.clock = clock  # white box: the back-off's clock
    store.create_group("t", "g")
    files = store._sync.files
    write_manifest = files.write_manifest
    tries: list[int] = []

    def disk_full(manifest: object) -> None:
        tries.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_manifest", disk_full)
    saves = store.report.saves
    tokens = {0: enroll(store, 0)}  # two changes: a save is due, and fails
    assert len(tries) == 1 and store.report.failed_saves == 1
    assert_found(store, 0, tokens[0])
    for index in range(1, 6):  # later writes inside the back-off do not retry the save
        tokens[index] = enroll(store, index)
        assert_found(store, index, tokens[index])
    store.delete_face("t", "g", "u5", tokens.pop(5))
    assert len(tries) == 1 and store.report.saves == saves

    clock.now += SAVE_RETRY_FIRST_S  # the back-off has passed: the next write retries, fails
    tokens[6] = enroll(store, 6)
    assert len(tries) == 2 and store.report.failed_saves == 2
    clock.now += SAVE_RETRY_FIRST_S  # the back-off doubled: not yet
    tokens[7] = enroll(store, 7)
    assert len(tries) == 2

    monkeypatch.setattr(files, "write_manifest", write_manifest)  # the disk has room again
    clock.now += SAVE_RETRY_FIRST_S
    tokens[8] = enroll(store, 8)
    assert store.report.saves == saves + 1 and not store._sync.unsaved
    store.check_consistency()
    store.close()

    store = SqliteFaissStore(folder, DIMENSION)
    assert not store.report.rebuilt
    for index, token in tokens.items():
        assert_found(store, index, token)
    store.check_consistency()
    store.close()


def test_a_failed_index_update_is_rebuilt_from_sqlite_and_never_trimmed_past(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "gallery"
    store = SqliteFaissStore(folder, DIMENSION, save_every=1)
    store.create_group("t", "g")
    first = enroll(store, 0)

    def broken(*args: object) -> None:
        raise MemoryError("faiss could not grow the index")

    monkeypatch.setattr(store._indexes, "add", broken)  # the live index misses the next enroll
    second = enroll(store, 1)  # committed: it succeeds, and the group is rebuilt from SQLite
    assert_found(store, 1, second)
    store.check_consistency()

    # and now the rebuild from SQLite fails too
    monkeypatch.setattr(store._sync.rows, "group_embeddings", broken)
    saves = store.report.saves
    third = enroll(store, 2)  # still succeeds; the save that is due refuses to run
    assert store.report.saves == saves and store._sync.stale
    with pytest.raises(MemoryError):
        store.close()  # no save: the log keeps the face for the next start

    store = SqliteFaissStore(folder, DIMENSION)
    assert not store.report.rebuilt and store.report.replayed_adds >= 1
    for index, token in enumerate((first, second, third)):
        assert_found(store, index, token)
    store.check_consistency()
    store.close()
