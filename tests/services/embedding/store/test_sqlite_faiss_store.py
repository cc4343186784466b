"""SQLite+FAISS specifics: persistence, incremental catch-up, damage detection, kill -9, HNSW."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from services.embedding.store import StoreInconsistentError, StoreLockedError
from services.embedding.store.base import Match
from services.embedding.store.errors import DimensionMismatchError
from services.embedding.store.faiss_index import FLAT, HNSW
from services.embedding.store.records import SEARCH_FETCH_FACTOR
from services.embedding.store.sqlite_faiss import NewFace, SqliteFaissStore
from tests.services.embedding.store.gallery_writer import DIMENSION, unit_vector

WRITER = Path(__file__).with_name("gallery_writer.py")


def run_writer(*args: object) -> None:
    """Run the writer child to completion (it exits without saving the index)."""
    result = subprocess.run(
        [sys.executable, str(WRITER), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"


def assert_found(store: SqliteFaissStore, index: int, token: str | None = None) -> None:
    match = store.search("t", ["g"], unit_vector(index), 1)[0]
    assert match.user_id == f"u{index}"
    assert match.similarity > 0.9999
    if token is not None:
        assert match.face_token == token


def assert_absent(store: SqliteFaissStore, index: int) -> None:
    matches = store.search("t", ["g"], unit_vector(index), 3)
    assert f"u{index}" not in {m.user_id for m in matches}


def test_saved_index_is_loaded_and_caught_up_from_newer_rows(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    SqliteFaissStore(folder, DIMENSION).close()  # first start: an empty saved index
    run_writer("batch", folder, 0, 40)  # 40 faces committed, index never saved

    store = SqliteFaissStore(folder, DIMENSION)
    assert (store.report.rebuilt, store.report.replayed_adds, store.report.replayed_deletes) == (
        False,
        40,
        0,
    )
    for index in range(40):
        assert_found(store, index)
    store.close()  # saves the index and trims the change log

    run_writer("batch", folder, 40, 8, "u3", "u41")  # 8 more, u41 added and deleted, u3 deleted
    store = SqliteFaissStore(folder, DIMENSION)
    report = store.report
    assert (report.rebuilt, report.loaded_groups) == (False, 1)
    assert (report.replayed_adds, report.replayed_deletes) == (7, 1)
    for index in range(48):
        if index in (3, 41):
            assert_absent(store, index)
        else:
            assert_found(store, index)
    store.check_consistency()
    store.close()

    store = SqliteFaissStore(folder, DIMENSION)  # nothing new: nothing replayed
    assert (store.report.rebuilt, store.report.replayed_adds, store.report.replayed_deletes) == (
        False,
        0,
        0,
    )
    store.close()


def make_gallery(folder: Path, count: int, **options: int) -> SqliteFaissStore:
    store = SqliteFaissStore(folder, DIMENSION, **options)  # type: ignore[arg-type]
    store.create_group("t", "g")
    store.add_faces("t", "g", [NewFace(f"u{i}", unit_vector(i), f"{i:064x}") for i in range(count)])
    return store


def test_consistency_check_detects_missing_and_altered_vectors(tmp_path: Path) -> None:
    store = make_gallery(tmp_path / "gallery", 10)
    store.check_consistency()
    index = next(iter(store._indexes.groups.values()))  # white box: damage the live index
    face_id = int(index.all_ids()[4])
    index.index.remove_ids(np.array([face_id], dtype=np.int64))
    with pytest.raises(StoreInconsistentError, match="lacks 1"):
        store.check_consistency()
    index.add(np.array([face_id], dtype=np.int64), unit_vector(99).reshape(1, -1))
    with pytest.raises(StoreInconsistentError, match="differs"):
        store.check_consistency()
    index.add(np.array([10_000], dtype=np.int64), unit_vector(98).reshape(1, -1))
    with pytest.raises(StoreInconsistentError, match="1 others"):
        store.check_consistency()
    store.close()


def test_stale_index_files_are_detected_and_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    make_gallery(folder, 10).close()
    shutil.copytree(folder / "index", tmp_path / "old-index")
    store = SqliteFaissStore(folder, DIMENSION)
    store.add_faces(
        "t", "g", [NewFace(f"u{i}", unit_vector(i), f"{i:064x}") for i in range(10, 15)]
    )
    store.close()  # newer index saved, change log trimmed past the old one
    shutil.rmtree(folder / "index")
    shutil.copytree(tmp_path / "old-index", folder / "index")

    store = SqliteFaissStore(folder, DIMENSION)
    assert store.report.rebuilt
    assert "trimmed" in store.report.rebuild_reason
    for index in range(15):
        assert_found(store, index)
    store.check_consistency()
    store.close()


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_damaged_index_file_is_detected_and_rebuilt(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "gallery"
    make_gallery(folder, 30).close()
    [index_file] = (folder / "index").glob("*.faiss")
    data = bytearray(index_file.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:  # same size, the vectors and id map garbled
        data[len(data) // 3 :] = np.random.default_rng(0).bytes(len(data) - len(data) // 3)
    index_file.write_bytes(bytes(data))

    store = SqliteFaissStore(folder, DIMENSION)
    assert store.report.rebuilt
    for index in range(30):
        assert_found(store, index)
    store.check_consistency()
    store.close()


def test_kill_9_mid_stream_loses_no_acknowledged_face(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    acknowledged: dict[int, str] = {}
    for stop_after in (120, 90):  # killed twice; the second run continues the same gallery
        start = len(acknowledged)
        child = subprocess.Popen(
            [sys.executable, str(WRITER), "stream", str(folder), "25"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        deadline = time.monotonic() + 120
        while len(acknowledged) < start + stop_after and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            number, token = line.split()
            acknowledged[int(number)] = token
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        # acknowledgements the child wrote before it died but the test had not read yet
        for line in child.stdout.read().splitlines():
            number, token = line.split()
            acknowledged[int(number)] = token
        assert len(acknowledged) >= start + stop_after, child.stderr.read() if child.stderr else ""

        store = SqliteFaissStore(folder, DIMENSION, save_every=25)
        assert not store.report.rebuilt, store.report.rebuild_reason
        store.check_consistency()  # index and database agree
        for index, token in acknowledged.items():
            assert_found(store, index, token)
        users, total = store.list_users("t", "g", 0, 1000)
        # at most one face committed but killed before its acknowledgement was printed
        assert len(acknowledged) <= total <= len(acknowledged) + 1
        for user in users:  # no half-written face: every face is whole and in the index
            index = int(user.user_id[1:])
            assert len(user.faces) == 1
            np.testing.assert_allclose(
                store.user_face_embeddings("t", "g", user.user_id)[0][1],
                unit_vector(index),
                atol=1e-6,
            )
            assert_found(store, index, user.faces[0].face_token)
            acknowledged[index] = user.faces[0].face_token
        store.close()


def test_large_groups_switch_to_hnsw_and_deletes_leave_search_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    store = make_gallery(folder, 80, hnsw_threshold=50, save_every=1_000_000)
    assert store.index_stats("t", "g").kind == FLAT
    store.save_index()
    assert store.wait_for_index_builds(timeout=60)
    assert store.index_stats("t", "g").kind == HNSW
    for index in range(80):
        assert_found(store, index)
    for index in range(5):
        store.delete_user("t", "g", f"u{index}")
        assert_absent(store, index)  # filtered at once, although HNSW cannot remove
    assert store.index_stats("t", "g").tombstones == 5
    store.close()

    store = SqliteFaissStore(folder, DIMENSION, hnsw_threshold=50, save_every=1_000_000)
    assert not store.report.rebuilt
    stats = store.index_stats("t", "g")
    assert (stats.kind, stats.vectors, stats.tombstones) == (HNSW, 75, 5)
    for index in range(80):
        (assert_absent if index < 5 else assert_found)(store, index)
    for index in range(5, 25):  # tombstones past 20 % of the index: rebuilt at the next save
        store.delete_user("t", "g", f"u{index}")
    store.save_index()
    assert store.wait_for_index_builds(timeout=60)
    stats = store.index_stats("t", "g")
    assert (stats.kind, stats.vectors, stats.tombstones) == (HNSW, 55, 0)
    store.check_consistency()
    store.close()


def test_searches_and_enrolls_answer_while_the_hnsw_graph_builds(tmp_path: Path) -> None:
    # 16,000 faces with a wide build beam on one thread: the HNSW build takes longer than the
    # embedding service's 10 s deadline (14 s on this project's 2-core machine), while a
    # search or an enroll takes milliseconds. Holding the store's lock for the build (as
    # before) would have let none of them through until it ended.
    size = 16_000
    store = make_gallery(
        tmp_path / "gallery",
        size,
        hnsw_threshold=size - 1,
        hnsw_ef_construction=1000,
        build_threads=1,
        save_every=1_000_000,
    )
    store.save_index()  # starts the switch to HNSW in the background
    slowest, searched, enrolled, extra = 0.0, 0, 0, size
    while store.index_stats("t", "g").building == HNSW and searched < 2_000:
        started = time.perf_counter()
        assert_found(store, searched % size)
        store.add_face("t", "g", f"u{extra}", unit_vector(extra), f"{extra:064x}")
        slowest = max(slowest, time.perf_counter() - started)
        searched, enrolled, extra = searched + 1, enrolled + 1, extra + 1
        if extra % 7 == 0:  # a delete during the build leaves search at once, and stays out
            store.delete_user("t", "g", f"u{extra - 1}")
            assert_absent(store, extra - 1)
        time.sleep(0.02)  # a steady trickle of traffic through the whole build
    assert searched >= 5 and enrolled >= 5, "the build blocked the store"
    assert slowest < 2.0  # the embedding service's deadline is 10 s
    assert store.wait_for_index_builds(timeout=120)
    stats = store.index_stats("t", "g")
    assert (stats.kind, stats.building) == (HNSW, None)
    for index in range(size, extra):  # the writes made during the build are in the new graph
        (assert_absent if index % 7 == 6 else assert_found)(store, index)
    store.check_consistency()
    store.close()


def test_closing_during_a_build_keeps_the_live_index(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    store = make_gallery(folder, 3_000, hnsw_threshold=2_999, hnsw_ef_construction=400)
    store.save_index()
    assert store.index_stats("t", "g").building == HNSW
    store.add_face("t", "g", "late", unit_vector(3_000), f"{3_000:064x}")
    store.close()
    reopened = SqliteFaissStore(folder, DIMENSION, hnsw_threshold=2_999)
    stats = reopened.index_stats("t", "g")
    assert (stats.kind, stats.vectors, stats.building) == (FLAT, 3_001, None)
    assert reopened.search("t", ["g"], unit_vector(3_000), 1)[0].user_id == "late"
    reopened.check_consistency()
    reopened.close()


def test_one_process_owns_a_folder(tmp_path: Path) -> None:
    store = SqliteFaissStore(tmp_path / "gallery", DIMENSION)
    with pytest.raises(StoreLockedError):
        SqliteFaissStore(tmp_path / "gallery", DIMENSION)
    store.close()
    SqliteFaissStore(tmp_path / "gallery", DIMENSION).close()


def test_reopening_with_another_dimension_is_refused(tmp_path: Path) -> None:
    SqliteFaissStore(tmp_path / "gallery", DIMENSION).close()
    with pytest.raises(DimensionMismatchError, match="stores 128-d embeddings, not 512-d"):
        SqliteFaissStore(tmp_path / "gallery", 512)
    SqliteFaissStore(tmp_path / "gallery", DIMENSION).close()  # the refused open left no lock


def test_a_search_over_many_groups_looks_up_only_its_fetch_of_faces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteFaissStore(tmp_path / "gallery", DIMENSION)
    groups = [f"g{g}" for g in range(20)]
    vectors = {}
    for g, group_id in enumerate(groups):
        store.create_group("t", group_id)
        faces = [
            NewFace(f"u{g}-{i}", unit_vector(100 * g + i), f"{100 * g + i:064x}") for i in range(30)
        ]
        store.add_faces("t", group_id, faces)
        vectors.update({(group_id, face.user_id): face.embedding for face in faces})
    looked_up: list[int] = []
    matches = store._tables.matches  # white box: count the face ids each SQL lookup gets

    def spy(hits: dict[int, float], names: dict[int, str]) -> list[Match]:
        looked_up.append(len(hits))
        return matches(hits, names)

    monkeypatch.setattr(store._tables, "matches", spy)
    probe = unit_vector(100 * 7 + 3)
    found = store.search("t", groups, probe, 5)
    assert looked_up and max(looked_up) <= 5 * SEARCH_FETCH_FACTOR  # not 20 groups x the fetch
    best = sorted(vectors, key=lambda key: -float(vectors[key] @ probe))[:5]
    assert [(m.group_id, m.user_id) for m in found] == best
    store.close()


def test_deleting_a_group_counts_each_of_its_faces_toward_save_every(tmp_path: Path) -> None:
    store = SqliteFaissStore(tmp_path / "gallery", DIMENSION, save_every=10)
    saves = store.report.saves  # opening an empty folder saved once
    store.create_group("t", "g")  # one change
    store.add_faces("t", "g", [NewFace(f"u{i}", unit_vector(i), f"{i:064x}") for i in range(6)])
    assert store.report.saves == saves  # 7 changes
    store.delete_group("t", "g")  # six faces leave: 13 changes, a save
    assert store.report.saves == saves + 1
    store.close()


def test_a_widened_search_stays_within_sqlites_variable_limit(tmp_path: Path) -> None:
    """A search of a group with few users and many faces widens its fetch until every face is
    a hit; their rows are read in chunks, not one IN list over SQLite's variable limit."""
    store = SqliteFaissStore(tmp_path / "gallery", DIMENSION)
    store.create_group("t", "g")
    faces = [NewFace("many", unit_vector(i), f"{i:064x}") for i in range(1200)]
    store.add_faces("t", "g", [*faces, NewFace("one", unit_vector(5000), f"{5000:064x}")])
    store._tables.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    matches = store.search("t", ["g"], unit_vector(7), 3)
    assert [m.user_id for m in matches] == ["many", "one"]
    assert matches[0].similarity > 0.9999
    store.close()


def test_a_page_of_1000_users_stays_within_sqlites_variable_limit(tmp_path: Path) -> None:
    store = SqliteFaissStore(tmp_path / "gallery", DIMENSION)
    store.create_group("t", "g")
    store.add_faces(
        "t", "g", [NewFace(f"u{i:04d}", unit_vector(i), f"{i:064x}") for i in range(1000)]
    )
    store._tables.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    users, total = store.list_users("t", "g", 0, 1000)
    assert total == 1000 and len(users) == 1000
    assert all(len(user.faces) == 1 for user in users)
    assert users[-1].user_id == "u0999" and users[-1].faces[0].face_token
    store.close()
