"""Behaviour of the gallery store, run on both backends (SQLite+FAISS and PostgreSQL+pgvector)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
import numpy as np
import pytest

from services.embedding.store import (
    FaceExistsError,
    FaceNotFoundError,
    GalleryStore,
    GroupExistsError,
    GroupNotFoundError,
    ThumbnailNotFoundError,
    UserNotFoundError,
)
from services.embedding.store.errors import EmbedderMismatchError
from services.embedding.store.pgvector import PgvectorStore
from services.embedding.store.sqlite_faiss import SqliteFaissStore
from services.shared.errors import FaceflowError, InvalidArgumentError
from tests.services.embedding.store.conftest import StoreFactory as MakeStore
from tests.services.embedding.store.synthetic import FaceMaker as Faces


def expect_error(error: FaceflowError, code: str, status: grpc.StatusCode) -> None:
    """The stable code and gRPC status the gateway will turn into HTTP."""
    assert error.code == code
    assert error.status == status


def enroll(
    store: GalleryStore, faces: Faces, tenant: str, group: str, user: str, seed: int, **kwargs: Any
) -> tuple[str, np.ndarray]:
    vector = faces.unit_vectors(1, seed)[0]
    record = store.add_face(
        tenant, group, user, vector, faces.sha((tenant, group, user, seed)), **kwargs
    )
    return record.face_token, vector


# ------------------------------------------------------------------- groups


def test_groups_are_created_listed_with_counts_and_deleted(
    store: GalleryStore, faces: Faces
) -> None:
    created = store.create_group("t1", "staff")
    assert (created.group_id, created.user_count, created.face_count) == ("staff", 0, 0)
    store.create_group("t1", "alumni")
    enroll(store, faces, "t1", "staff", "ann", 1)
    enroll(store, faces, "t1", "staff", "ann", 2)
    enroll(store, faces, "t1", "staff", "bob", 3)
    groups = store.list_groups("t1")
    assert [(g.group_id, g.user_count, g.face_count) for g in groups] == [
        ("alumni", 0, 0),
        ("staff", 2, 3),
    ]
    store.delete_group("t1", "staff")
    assert [g.group_id for g in store.list_groups("t1")] == ["alumni"]


def test_groups_are_listed_in_byte_order_on_every_backend(store: GalleryStore) -> None:
    for group_id in ("ab", "a-b", "a", "B"):
        store.create_group("t1", group_id)
    assert [g.group_id for g in store.list_groups("t1")] == ["B", "a", "a-b", "ab"]


def test_duplicate_group_is_already_exists(store: GalleryStore) -> None:
    store.create_group("t1", "staff")
    with pytest.raises(GroupExistsError) as caught:
        store.create_group("t1", "staff")
    expect_error(caught.value, "ALREADY_EXISTS", grpc.StatusCode.ALREADY_EXISTS)


def test_unknown_group_is_group_not_found_everywhere(store: GalleryStore, faces: Faces) -> None:
    vector = faces.unit_vectors(1, 0)[0]
    calls: list[Callable[[], object]] = [
        lambda: store.delete_group("t1", "nope"),
        lambda: store.add_face("t1", "nope", "ann", vector, faces.sha(0)),
        lambda: store.list_users("t1", "nope", 0, 10),
        lambda: store.get_user("t1", "nope", "ann"),
        lambda: store.delete_user("t1", "nope", "ann"),
        lambda: store.delete_face("t1", "nope", "ann", "0" * 32),
        lambda: store.user_face_embeddings("t1", "nope", "ann"),
        lambda: store.search("t1", ["nope"], vector, 5),
    ]
    store.create_group("t1", "staff")
    calls.append(lambda: store.search("t1", ["staff", "nope"], vector, 5))
    for call in calls:
        with pytest.raises(GroupNotFoundError) as caught:
            call()
        expect_error(caught.value, "GROUP_NOT_FOUND", grpc.StatusCode.NOT_FOUND)


# ------------------------------------------------------------ users, faces


def test_add_face_creates_the_user_and_keeps_or_updates_user_info(
    store: GalleryStore, faces: Faces
) -> None:
    store.create_group("t1", "staff")
    token, _ = enroll(store, faces, "t1", "staff", "ann", 1, user_info="Ann, floor 2")
    user = store.get_user("t1", "staff", "ann")
    assert (user.user_id, user.user_info, [f.face_token for f in user.faces]) == (
        "ann",
        "Ann, floor 2",
        [token],
    )
    assert user.faces[0].group_id == "staff" and user.faces[0].user_id == "ann"
    second, _ = enroll(store, faces, "t1", "staff", "ann", 2)
    user = store.get_user("t1", "staff", "ann")
    assert user.user_info == "Ann, floor 2"
    assert [f.face_token for f in user.faces] == [token, second]
    enroll(store, faces, "t1", "staff", "ann", 3, user_info="Ann, floor 3")
    assert store.get_user("t1", "staff", "ann").user_info == "Ann, floor 3"
    assert len({token, second}) == 2 and len(token) == 32


def test_same_image_twice_for_a_user_is_already_exists(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    vector = faces.unit_vectors(1, 1)[0]
    first = store.add_face("t1", "staff", "ann", vector, faces.sha("photo"))
    with pytest.raises(FaceExistsError) as caught:
        store.add_face("t1", "staff", "ann", vector, faces.sha("photo"), user_info="changed")
    expect_error(caught.value, "ALREADY_EXISTS", grpc.StatusCode.ALREADY_EXISTS)
    # It names the face that holds the image (what an idempotent retry answers).
    assert caught.value.existing_face_token == first.face_token
    assert caught.value.existing_created_at == pytest.approx(first.created_at)
    user = store.get_user("t1", "staff", "ann")
    assert len(user.faces) == 1 and user.user_info == ""  # the failed enroll changed nothing
    store.add_face("t1", "staff", "bob", vector, faces.sha("photo"))  # another user may
    assert len(store.search("t1", ["staff"], vector, 5)) == 2


def test_users_are_paged_in_user_id_order(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    names = [f"user{i:02d}" for i in range(25)]
    for seed, name in enumerate(reversed(names)):
        enroll(store, faces, "t1", "staff", name, seed)
    seen: list[str] = []
    for offset in (0, 10, 20):
        page, total = store.list_users("t1", "staff", offset, 10)
        assert total == 25
        assert all(len(user.faces) == 1 for user in page)
        seen += [user.user_id for user in page]
    assert seen == names
    assert store.list_users("t1", "staff", 30, 10) == ([], 25)


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 1001)])
def test_bad_paging_is_invalid_argument(store: GalleryStore, offset: int, limit: int) -> None:
    store.create_group("t1", "staff")
    with pytest.raises(InvalidArgumentError) as caught:
        store.list_users("t1", "staff", offset, limit)
    expect_error(caught.value, "INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT)


def test_unknown_user_and_face_are_not_found(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    ann_token, _ = enroll(store, faces, "t1", "staff", "ann", 1)
    enroll(store, faces, "t1", "staff", "bob", 2)
    for call in (
        lambda: store.get_user("t1", "staff", "zoe"),
        lambda: store.delete_user("t1", "staff", "zoe"),
        lambda: store.user_face_embeddings("t1", "staff", "zoe"),
        lambda: store.delete_face("t1", "staff", "zoe", ann_token),
    ):
        with pytest.raises(UserNotFoundError) as caught:
            call()
        expect_error(caught.value, "USER_NOT_FOUND", grpc.StatusCode.NOT_FOUND)
    for token in ("f" * 32, "not-a-token", ann_token):  # ann's token is not bob's face
        with pytest.raises(FaceNotFoundError) as face_caught:
            store.delete_face("t1", "staff", "bob", token)
        expect_error(face_caught.value, "FACE_NOT_FOUND", grpc.StatusCode.NOT_FOUND)
    assert [f.face_token for f in store.get_user("t1", "staff", "ann").faces] == [ann_token]


def test_user_embeddings_are_the_unit_vectors_enrolled(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    raw = faces.unit_vectors(2, 5) * np.float32(3.0)  # not unit length on input
    for index, vector in enumerate(raw):
        store.add_face("t1", "staff", "ann", vector, faces.sha(index))
    stored = np.stack([vector for _, vector in store.user_face_embeddings("t1", "staff", "ann")])
    assert stored.shape == (2, faces.dimension) and stored.dtype == np.float32
    np.testing.assert_allclose(stored, raw / 3.0, atol=1e-6)


def test_face_embeddings_come_in_the_order_asked(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "album")
    store.create_group("t1", "other")
    ann, ann_vector = enroll(store, faces, "t1", "album", "ann", 1)
    bob, bob_vector = enroll(store, faces, "t1", "album", "bob", 2)
    elsewhere, _ = enroll(store, faces, "t1", "other", "cy", 3)
    found = store.face_embeddings("t1", "album", [bob, ann])
    assert found.shape == (2, faces.dimension) and found.dtype == np.float32
    np.testing.assert_allclose(found, np.stack([bob_vector, ann_vector]), atol=1e-6)
    assert store.face_embeddings("t1", "album", []).shape == (0, faces.dimension)
    with pytest.raises(FaceNotFoundError) as caught:  # a face of another group
        store.face_embeddings("t1", "album", [ann, elsewhere])
    assert caught.value.message == f"face {elsewhere!r} not found in group 'album'"
    with pytest.raises(GroupNotFoundError):  # another tenant's group
        store.face_embeddings("t2", "album", [ann])


@pytest.mark.parametrize(
    "bad",
    [
        {"embedding": np.zeros(128, np.float32)},
        {"embedding": np.ones(64, np.float32)},
        {"embedding": np.full(128, np.nan, np.float32)},
        {"user_id": ""},
        {"user_id": "has space"},
        {"user_id": "x" * 129},
        {"group_id": "../etc"},
        {"user_id": ".."},  # dots only: a URL path segment clients rewrite
        {"user_id": "."},
        {"tenant": ""},
        {"image_sha256": "abc"},
        {"user_info": "x" * 5000},
        {"user_info": "Ann\x00floor 2"},  # PostgreSQL's text cannot hold a NUL
    ],
)
def test_bad_enroll_input_is_invalid_argument(
    store: GalleryStore, faces: Faces, bad: dict[str, Any]
) -> None:
    store.create_group("t1", "staff")
    arguments: dict[str, Any] = {
        "tenant": "t1",
        "group_id": "staff",
        "user_id": "ann",
        "embedding": faces.unit_vectors(1, 0)[0],
        "image_sha256": faces.sha(0),
    }
    arguments.update(bad)
    with pytest.raises(InvalidArgumentError) as caught:
        store.add_face(**arguments)
    expect_error(caught.value, "INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT)
    assert store.list_users("t1", "staff", 0, 10) == ([], 0)


@pytest.mark.parametrize(
    "bad", [{"top_k": 0}, {"top_k": 101}, {"group_ids": []}, {"embedding": np.ones(3)}]
)
def test_bad_search_input_is_invalid_argument(
    store: GalleryStore, faces: Faces, bad: dict[str, Any]
) -> None:
    store.create_group("t1", "staff")
    arguments: dict[str, Any] = {
        "tenant": "t1",
        "group_ids": ["staff"],
        "embedding": faces.unit_vectors(1, 0)[0],
        "top_k": 5,
    }
    arguments.update(bad)
    with pytest.raises(InvalidArgumentError) as caught:
        store.search(**arguments)
    expect_error(caught.value, "INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT)


def test_raw_images_are_stored_only_when_asked(make_store: MakeStore, faces: Faces) -> None:
    for store_images, expected in ((False, None), (True, b"\xff\xd8jpeg bytes")):
        store = make_store(store_images=store_images)
        store.create_group("t1", "staff")
        record = store.add_face(
            "t1",
            "staff",
            "ann",
            faces.unit_vectors(1, 0)[0],
            faces.sha(0),
            image=b"\xff\xd8jpeg bytes",
        )
        assert store.face_image("t1", "staff", record.face_token) == expected


def test_thumbnails_are_kept_listed_and_deleted_with_their_face(
    store: GalleryStore, faces: Faces
) -> None:
    jpeg = b"\xff\xd8\xff thumbnail of ann"
    store.create_group("t1", "staff")
    kept, _ = enroll(store, faces, "t1", "staff", "ann", 1, thumbnail=jpeg)
    bare, _ = enroll(store, faces, "t1", "staff", "ann", 2)
    enroll(store, faces, "t1", "staff", "bob", 3, thumbnail=b"\xff\xd8\xff bob")
    assert store.face_thumbnail("t1", "staff", "ann", kept) == jpeg
    with pytest.raises(ThumbnailNotFoundError) as caught:
        store.face_thumbnail("t1", "staff", "ann", bare)
    expect_error(caught.value, "THUMBNAIL_NOT_FOUND", grpc.StatusCode.NOT_FOUND)
    assert str(caught.value) == f"no thumbnail is kept for face {bare!r}"
    flags = [(f.face_token, f.has_thumbnail) for f in store.get_user("t1", "staff", "ann").faces]
    assert flags == [(kept, True), (bare, False)]
    page, _ = store.list_users("t1", "staff", 0, 10)
    assert [[f.has_thumbnail for f in u.faces] for u in page] == [[True, False], [True]]
    # Another user's face, another tenant, an unknown face: never the thumbnail.
    with pytest.raises(FaceNotFoundError):
        store.face_thumbnail("t1", "staff", "bob", kept)
    with pytest.raises(GroupNotFoundError):
        store.face_thumbnail("t2", "staff", "ann", kept)
    with pytest.raises(UserNotFoundError):
        store.face_thumbnail("t1", "staff", "carol", kept)
    # Deleting the face, the user or the group deletes the thumbnails with them.
    store.delete_face("t1", "staff", "ann", kept)
    with pytest.raises(FaceNotFoundError):
        store.face_thumbnail("t1", "staff", "ann", kept)
    store.delete_user("t1", "staff", "bob")
    store.delete_group("t1", "staff")
    assert thumbnail_rows(store) == 0


def thumbnail_rows(store: GalleryStore) -> int:
    """How many thumbnails the backend's table still holds (of every tenant)."""
    if isinstance(store, SqliteFaissStore):
        row = store._tables.connection.execute("SELECT COUNT(*) FROM face_thumbnails").fetchone()
        return int(row[0])
    assert isinstance(store, PgvectorStore)
    with store._pool.connection() as db:
        counted = db.execute(f"SELECT COUNT(*) FROM {store.schema}.face_thumbnails").fetchone()
    return int(counted[0]) if counted else -1


# ------------------------------------------------------------------- search


def test_search_finds_the_person_best_first_with_one_match_per_user(
    store: GalleryStore, faces: Faces
) -> None:
    store.create_group("t1", "staff")
    people = faces.unit_vectors(20, 7)
    tokens = {}
    for index, vector in enumerate(people):
        name = f"p{index}"
        tokens[name] = store.add_face(
            "t1", "staff", name, vector, faces.sha(index), user_info=f"info {index}"
        ).face_token
        store.add_face(
            "t1", "staff", name, faces.near(vector, 100 + index, noise=0.8), faces.sha((index, "b"))
        )
    probe = faces.near(people[3], 1)
    matches = store.search("t1", ["staff"], probe, 5)
    assert len(matches) == 5
    assert len({m.user_id for m in matches}) == 5
    best = matches[0]
    assert (best.group_id, best.user_id, best.user_info, best.face_token) == (
        "staff",
        "p3",
        "info 3",
        tokens["p3"],
    )
    assert best.similarity > 0.9 > matches[1].similarity
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    exact = store.search("t1", ["staff"], people[3], 1)
    assert exact[0].user_id == "p3" and exact[0].similarity == pytest.approx(1.0, abs=1e-5)


def test_search_in_an_empty_group_has_no_matches(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    assert store.search("t1", ["staff"], faces.unit_vectors(1, 0)[0], 5) == []


def test_search_covers_several_groups_and_names_them(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "a")
    store.create_group("t1", "b")
    store.create_group("t1", "c")
    enroll(store, faces, "t1", "a", "ann", 1)
    _, in_b = enroll(store, faces, "t1", "b", "ann", 2)
    enroll(store, faces, "t1", "c", "carl", 3)
    matches = store.search("t1", ["a", "b"], in_b, 5)
    assert [(m.group_id, m.user_id) for m in matches] == [("b", "ann"), ("a", "ann")]


def test_candidates_are_counted_once_per_user_and_tenant_scoped(
    store: GalleryStore, faces: Faces
) -> None:
    store.create_group("t1", "a")
    store.create_group("t1", "b")
    store.create_group("t2", "a")
    for seed in range(5):  # one user with five faces is one candidate
        enroll(store, faces, "t1", "a", "ann", seed)
    enroll(store, faces, "t1", "a", "bob", 10)
    enroll(store, faces, "t1", "b", "ann", 11)  # the same id in another group: another user
    enroll(store, faces, "t2", "a", "zed", 12)
    assert store.count_users("t1", ["a"]) == 2
    assert store.count_users("t1", ["a", "b"]) == 3
    assert store.count_users("t1", ["a", "a"]) == 2
    assert store.count_users("t2", ["a"]) == 1
    with pytest.raises(GroupNotFoundError):
        store.count_users("t1", ["a", "nope"])
    with pytest.raises(InvalidArgumentError):
        store.count_users("t1", [])


def test_deletes_leave_search_at_once(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "staff")
    ann_1, ann_vector = enroll(store, faces, "t1", "staff", "ann", 1)
    ann_2, _ = enroll(store, faces, "t1", "staff", "ann", 2)
    _, bob_vector = enroll(store, faces, "t1", "staff", "bob", 3)
    assert store.search("t1", ["staff"], ann_vector, 1)[0].face_token == ann_1

    store.delete_face("t1", "staff", "ann", ann_1)
    hit = store.search("t1", ["staff"], ann_vector, 5)
    assert ann_1 not in {m.face_token for m in hit}
    assert {m.face_token for m in hit if m.user_id == "ann"} == {ann_2}

    assert store.delete_user("t1", "staff", "ann") == [ann_2]  # the faces it deleted
    assert [m.user_id for m in store.search("t1", ["staff"], ann_vector, 5)] == ["bob"]
    with pytest.raises(UserNotFoundError):
        store.get_user("t1", "staff", "ann")

    store.delete_group("t1", "staff")
    with pytest.raises(GroupNotFoundError):
        store.search("t1", ["staff"], bob_vector, 5)
    store.create_group("t1", "staff")  # same name, new and empty
    assert store.search("t1", ["staff"], bob_vector, 5) == []
    assert store.list_users("t1", "staff", 0, 10) == ([], 0)


def test_top_k_users_even_when_one_user_has_many_close_faces(
    store: GalleryStore, faces: Faces
) -> None:
    store.create_group("t1", "staff")
    base = faces.unit_vectors(1, 11)[0]
    for index in range(30):  # 30 faces of ann all closer to the probe than anyone else
        store.add_face(
            "t1", "staff", "ann", faces.near(base, index, noise=0.1), faces.sha(("ann", index))
        )
    for index in range(3):
        store.add_face(
            "t1",
            "staff",
            f"other{index}",
            faces.near(base, 50 + index, noise=1.5),
            faces.sha(("other", index)),
        )
    matches = store.search("t1", ["staff"], base, 4)
    assert matches[0].user_id == "ann"
    assert sorted(m.user_id for m in matches[1:]) == ["other0", "other1", "other2"]


def at_cosine(cosine: float, axis: int) -> np.ndarray:
    """A unit vector at ``cosine`` to the probe (the first axis), leaning along ``axis``."""
    vector = np.zeros(Faces.dimension, dtype=np.float32)
    vector[0], vector[axis] = cosine, np.sqrt(1.0 - cosine**2)
    return vector


def test_a_user_filling_one_groups_fetch_does_not_hide_its_next_best_user(
    store: GalleryStore, faces: Faces
) -> None:
    # top_k=2 fetches 8 faces: ann's 8 fill group a's share, xena (a) still beats ulf (b)
    store.create_group("t1", "a")
    store.create_group("t1", "b")
    for index in range(8):
        store.add_face("t1", "a", "ann", at_cosine(0.9, 1 + index), faces.sha(("ann", index)))
    store.add_face("t1", "a", "xena", at_cosine(0.8, 9), faces.sha("xena"))
    store.add_face("t1", "b", "ulf", at_cosine(0.5, 10), faces.sha("ulf"))
    probe = at_cosine(1.0, 11)
    assert [m.user_id for m in store.search("t1", ["a"], probe, 2)] == ["ann", "xena"]
    assert [m.user_id for m in store.search("t1", ["a", "b"], probe, 2)] == ["ann", "xena"]
    assert [m.user_id for m in store.search("t1", ["b", "a"], probe, 3)] == ["ann", "xena", "ulf"]


# ------------------------------------------------------------------ tenants


def test_tenants_never_see_each_others_data(store: GalleryStore, faces: Faces) -> None:
    store.create_group("alpha", "staff")
    token, vector = enroll(store, faces, "alpha", "staff", "ann", 1)
    assert store.list_groups("beta") == []
    for call in (
        lambda: store.list_users("beta", "staff", 0, 10),
        lambda: store.get_user("beta", "staff", "ann"),
        lambda: store.search("beta", ["staff"], vector, 5),
        lambda: store.delete_group("beta", "staff"),
        lambda: store.delete_user("beta", "staff", "ann"),
        lambda: store.delete_face("beta", "staff", "ann", token),
        lambda: store.user_face_embeddings("beta", "staff", "ann"),
        lambda: store.add_face("beta", "staff", "eve", vector, faces.sha(9)),
    ):
        with pytest.raises(GroupNotFoundError):
            call()
    # beta may own a group of the same name: fully separate
    store.create_group("beta", "staff")
    assert store.search("beta", ["staff"], vector, 5) == []
    enroll(store, faces, "beta", "staff", "ann", 2)
    assert {m.face_token for m in store.search("beta", ["staff"], vector, 5)}.isdisjoint({token})
    store.delete_group("beta", "staff")
    assert [m.face_token for m in store.search("alpha", ["staff"], vector, 1)] == [token]
    assert [g.group_id for g in store.list_groups("alpha")] == ["staff"]
    assert store.get_user("alpha", "staff", "ann").faces[0].face_token == token


# -------------------------------------------------------------- concurrency


def test_concurrent_enrolls_and_searches_are_consistent(store: GalleryStore, faces: Faces) -> None:
    store.create_group("t1", "crowd")
    workers, per_worker = 4, 15
    errors: list[BaseException] = []
    vectors = faces.unit_vectors(workers * per_worker, 21)

    def work(worker: int) -> None:
        try:
            for step in range(per_worker):
                index = worker * per_worker + step
                name = f"w{worker}-{step}"
                token = store.add_face(
                    "t1", "crowd", name, vectors[index], faces.sha(index)
                ).face_token
                # what this thread just enrolled is found at once, whatever the others do
                match = store.search("t1", ["crowd"], vectors[index], 1)[0]
                assert (match.user_id, match.face_token) == (name, token)
                if step % 5 == 4:
                    store.delete_face("t1", "crowd", name, token)
                    hits = store.search("t1", ["crowd"], vectors[index], 3)
                    assert token not in {m.face_token for m in hits}
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = workers * (per_worker - per_worker // 5)
    users, total = store.list_users("t1", "crowd", 0, 1000)
    assert total == workers * per_worker
    assert sum(len(u.faces) for u in users) == kept
    assert store.list_groups("t1")[0].face_count == kept
    for index, vector in enumerate(vectors):
        match = store.search("t1", ["crowd"], vector, 1)[0]
        expected = f"w{index // per_worker}-{index % per_worker}"
        assert (match.user_id == expected) == (index % per_worker % 5 != 4)
    store.check_consistency()


def test_a_store_keeps_the_embedder_that_first_claimed_it(make_store: MakeStore) -> None:
    store = make_store()
    store.claim_embedder("sface:2021dec")
    store.claim_embedder("sface:2021dec")  # the same embedder again: fine
    with pytest.raises(EmbedderMismatchError, match="holds sface:2021dec embeddings, not x:1"):
        store.claim_embedder("x:1")
