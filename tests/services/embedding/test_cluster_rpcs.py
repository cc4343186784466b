"""The clustering RPCs over real gRPC: real SFace on real LFW faces, a real job store and worker.

What the gateway cannot send is tested here (crop metadata, both sources at once, another
model's job); the HTTP tests (tests/gateway/test_clusters.py) cover the lifecycle end to end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from numpy.typing import NDArray

from services.embedding.cluster_jobs import open_sqlite_jobs
from services.embedding.server import create_app
from services.embedding.servicer import EmbeddingServicer
from services.embedding.settings import EmbeddingSettings
from services.shared.alignment import ALIGNED_SIZE
from services.shared.model_store import ModelStore
from tests.helpers import lfw
from tests.helpers.serving import serving
from tests.services.embedding.store.conftest import postgres_url
from tests.services.embedding.test_embedding_service import add_face, error_of

Stub = embedding_pb2_grpc.EmbeddingServiceStub


@pytest.fixture(scope="module")
def faces(
    shared_data: Path, model_store: ModelStore
) -> list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]:
    """(person, aligned crop, box) of the 28 photos of four LFW people."""
    found = lfw.photos(shared_data)
    crops = lfw.centre_crops([path for _, path in found], model_store)
    return [(person, crop, box) for (person, _), (crop, box) in zip(found, crops, strict=True)]


@pytest.fixture(scope="module")
def stub(embedding_address: str) -> Iterator[Stub]:
    with grpc.insecure_channel(embedding_address) as channel:
        yield Stub(channel)


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def crop_input(
    crop: NDArray[np.uint8], photo: str = "a.jpg", index: int = 0
) -> embedding_pb2.ClusterFaceInput:
    return embedding_pb2.ClusterFaceInput(
        crop=common_pb2.AlignedCrop(size=ALIGNED_SIZE, rgb=crop.tobytes()),
        photo=photo,
        face_index=index,
        box=common_pb2.BoundingBox(x=10, y=20, width=100, height=120),
    )


def wait_done(stub: Stub, who: str, job_id: str, seconds: float = 60) -> embedding_pb2.ClusterJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: embedding_pb2.ClusterJob = stub.GetClusterJob(
            embedding_pb2.GetClusterJobRequest(tenant=who, job_id=job_id, limit=1000)
        )
        if job.status == embedding_pb2.CLUSTER_JOB_STATUS_DONE:
            return job
        assert job.status != embedding_pb2.CLUSTER_JOB_STATUS_FAILED, job.error
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not finish")


def test_crops_become_one_cluster_per_person(
    stub: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    who = tenant()
    created = stub.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who,
            faces=embedding_pb2.ClusterFaces(
                crops=[
                    crop_input(crop, f"{person}-{i}.jpg")
                    for i, (person, crop, _) in enumerate(faces)
                ]
            ),
        )
    )
    assert [f.face_id for f in created.added] == list(range(len(faces)))
    assert created.added[0].photo == f"{faces[0][0]}-0.jpg"
    assert created.far == pytest.approx(1e-5)
    assert 0.4 < created.link_similarity < 0.6  # SFace's cosine at FAR 1e-5
    assert [m.name for m in created.models] == ["sface"]
    done = wait_done(stub, who, created.job_id)
    people = {frozenset(faces[m.face_id][0] for m in cluster.members) for cluster in done.clusters}
    assert people == {frozenset([person]) for person in lfw.PEOPLE}
    assert sum(c.size for c in done.clusters) + done.unassigned_count == len(faces)
    assert done.unassigned_count <= 2


def test_enrolled_faces_are_clustered_by_token(
    stub: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    who, group = tenant(), "album"
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id=group))
    tokens = [
        add_face(stub, who, group, f"u{i}", crop).face_token
        for i, (_, crop, _) in enumerate(faces[:14])  # two people, seven photos each
    ]
    created = stub.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who, faces=embedding_pb2.ClusterFaces(group_id=group, face_tokens=tokens)
        )
    )
    assert [(f.group_id, f.face_token) for f in created.added] == [(group, t) for t in tokens]
    done = wait_done(stub, who, created.job_id)
    assert done.cluster_count == 2
    assert {f.face_token for f in done.clusters[0].members} | {
        f.face_token for f in done.clusters[1].members
    } <= set(tokens)
    code = error_of(
        lambda: stub.AddClusterFaces(
            embedding_pb2.AddClusterFacesRequest(
                tenant=who,
                job_id=created.job_id,
                faces=embedding_pb2.ClusterFaces(group_id=group, face_tokens=tokens[:1]),
            )
        )
    )
    assert code == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS")


@pytest.mark.parametrize(
    ("faces_message", "code", "message"),
    [
        (embedding_pb2.ClusterFaces(), "INVALID_ARGUMENT", "faces must hold crops or group_id"),
        (
            embedding_pb2.ClusterFaces(group_id="g"),
            "INVALID_ARGUMENT",
            "face_tokens must name at least one face of group_id",
        ),
        (
            embedding_pb2.ClusterFaces(face_tokens=["0" * 32]),
            "INVALID_ARGUMENT",
            "group_id is required with face_tokens",
        ),
        (
            embedding_pb2.ClusterFaces(group_id="g", face_tokens=["nope"]),
            "INVALID_ARGUMENT",
            "face_tokens[0] is not a face token",
        ),
        (
            embedding_pb2.ClusterFaces(group_id="g", face_tokens=["0" * 32, "0" * 32]),
            "INVALID_ARGUMENT",
            "appears twice in face_tokens",
        ),
        (
            embedding_pb2.ClusterFaces(group_id="no-such-group", face_tokens=["0" * 32]),
            "GROUP_NOT_FOUND",
            "group 'no-such-group' not found",
        ),
        (
            embedding_pb2.ClusterFaces(
                crops=[embedding_pb2.ClusterFaceInput(crop=common_pb2.AlignedCrop(size=5))]
            ),
            "INVALID_ARGUMENT",
            "faces.crops[0].crop must be a 112x112 RGB crop",
        ),
        (
            embedding_pb2.ClusterFaces(crops=[embedding_pb2.ClusterFaceInput(photo="x" * 257)]),
            "INVALID_ARGUMENT",
            "faces.crops[0].photo must be at most 256 characters",
        ),
        (
            embedding_pb2.ClusterFaces(crops=[embedding_pb2.ClusterFaceInput(photo="a\x00b")]),
            "INVALID_ARGUMENT",
            "faces.crops[0].photo must not contain a NUL character",
        ),
        (
            embedding_pb2.ClusterFaces(crops=[embedding_pb2.ClusterFaceInput(face_index=-1)]),
            "INVALID_ARGUMENT",
            "faces.crops[0].face_index must be >= 0",
        ),
        (
            embedding_pb2.ClusterFaces(
                crops=[
                    embedding_pb2.ClusterFaceInput(box=common_pb2.BoundingBox(width=float("nan")))
                ]
            ),
            "INVALID_ARGUMENT",
            "faces.crops[0].box must be finite",
        ),
    ],
)
def test_bad_faces_are_refused(
    stub: Stub, faces_message: embedding_pb2.ClusterFaces, code: str, message: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateClusterJob(
            embedding_pb2.CreateClusterJobRequest(tenant=tenant(), faces=faces_message)
        )
    error = caught.value
    assert dict(error.trailing_metadata() or ())["faceflow-error-code"] == code  # type: ignore[attr-defined]
    assert message in error.details()  # type: ignore[attr-defined]


def test_crops_and_tokens_together_are_refused(
    stub: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    both = embedding_pb2.ClusterFaces(
        crops=[crop_input(faces[0][1])], group_id="g", face_tokens=["0" * 32]
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateClusterJob(embedding_pb2.CreateClusterJobRequest(tenant=tenant(), faces=both))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "not both" in caught.value.details()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"far": 0.5}, "far must be between 1e-06 and 0.01"),
        ({"far": float("nan")}, "far must be between 1e-06 and 0.01"),
        ({"min_cluster_size": 1001}, "min_cluster_size must be between 1 and 1000"),
        ({"min_cluster_size": -1}, "min_cluster_size must be between 1 and 1000"),
    ],
)
def test_bad_parameters_are_refused(
    stub: Stub,
    faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]],
    options: dict[str, Any],
    message: str,
) -> None:
    request = embedding_pb2.CreateClusterJobRequest(
        tenant=tenant(), faces=embedding_pb2.ClusterFaces(crops=[crop_input(faces[0][1])])
    )
    for name, value in options.items():
        setattr(request, name, value)
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateClusterJob(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert caught.value.details() == message  # type: ignore[attr-defined]


def test_unknown_and_foreign_jobs_are_not_found(
    stub: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    who = tenant()
    created = stub.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who, faces=embedding_pb2.ClusterFaces(crops=[crop_input(faces[0][1])])
        )
    )
    for job_id, owner in (("0" * 32, who), ("not-a-job", who), (created.job_id, tenant())):
        assert error_of(
            lambda job_id=job_id, owner=owner: stub.GetClusterJob(
                embedding_pb2.GetClusterJobRequest(tenant=owner, job_id=job_id)
            )
        ) == (grpc.StatusCode.NOT_FOUND, "CLUSTER_JOB_NOT_FOUND")
    stub.DeleteClusterJob(embedding_pb2.DeleteClusterJobRequest(tenant=who, job_id=created.job_id))
    assert error_of(
        lambda: stub.DeleteClusterJob(
            embedding_pb2.DeleteClusterJobRequest(tenant=who, job_id=created.job_id)
        )
    ) == (grpc.StatusCode.NOT_FOUND, "CLUSTER_JOB_NOT_FOUND")


@pytest.fixture
def limited(model_store: ModelStore, tmp_path: Path) -> Iterator[Stub]:
    """A service allowing 3 faces per request, 5 per job and 3 jobs per tenant."""
    settings = EmbeddingSettings(
        port=0,
        store_url=f"sqlite:///{tmp_path / 'gallery'}",
        data_dir=tmp_path,
        cluster_max_request_faces=3,
        cluster_max_job_faces=5,
        cluster_max_jobs_per_tenant=3,
    )
    with (
        serving(*create_app(settings, model_store)) as address,
        grpc.insecure_channel(address) as channel,
    ):
        yield Stub(channel)


def test_limits_per_request_and_per_job(
    limited: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    who = tenant()
    inputs = [crop_input(crop) for _, crop, _ in faces[:4]]
    with pytest.raises(grpc.RpcError) as caught:
        limited.CreateClusterJob(
            embedding_pb2.CreateClusterJobRequest(
                tenant=who, faces=embedding_pb2.ClusterFaces(crops=inputs)
            )
        )
    assert caught.value.details() == "at most 3 faces per request, got 4"  # type: ignore[attr-defined]
    created = limited.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who, faces=embedding_pb2.ClusterFaces(crops=inputs[:3])
        )
    )
    with pytest.raises(grpc.RpcError) as caught:
        limited.AddClusterFaces(
            embedding_pb2.AddClusterFacesRequest(
                tenant=who,
                job_id=created.job_id,
                faces=embedding_pb2.ClusterFaces(crops=inputs[:3]),
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert caught.value.details() == (  # type: ignore[attr-defined]
        "at most 5 faces per job: the job holds 3, 3 more would make 6"
    )
    grown = limited.AddClusterFaces(
        embedding_pb2.AddClusterFacesRequest(
            tenant=who, job_id=created.job_id, faces=embedding_pb2.ClusterFaces(crops=inputs[:2])
        )
    )
    assert grown.face_count == 5 and [f.face_id for f in grown.added] == [3, 4]


def test_faces_deleted_from_the_gallery_free_their_place_in_a_job(
    limited: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    """The per-job limit (5 here) counts the faces a job holds, not the ids it handed out."""
    who = tenant()
    limited.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="album"))
    tokens = [add_face(limited, who, "album", f"u{i}", faces[i][1]).face_token for i in range(3)]
    created = limited.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who, faces=embedding_pb2.ClusterFaces(group_id="album", face_tokens=tokens)
        )
    )
    limited.DeleteFace(
        embedding_pb2.DeleteFaceRequest(
            tenant=who, group_id="album", user_id="u0", face_token=tokens[0]
        )
    )
    grown = limited.AddClusterFaces(
        embedding_pb2.AddClusterFacesRequest(
            tenant=who,
            job_id=created.job_id,
            faces=embedding_pb2.ClusterFaces(crops=[crop_input(c) for _, c, _ in faces[3:6]]),
        )
    )
    assert grown.face_count == 5 and [f.face_id for f in grown.added] == [3, 4, 5]  # 0 removed


def test_a_job_of_another_model_takes_no_more_faces(
    model_store: ModelStore,
    tmp_path: Path,
    faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]],
) -> None:
    settings = EmbeddingSettings(
        port=0, store_url=f"sqlite:///{tmp_path / 'gallery'}", data_dir=tmp_path
    )
    app, servicer = create_app(settings, model_store)
    port = app.start(0)
    app.mark_serving()
    who = tenant()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = Stub(channel)
            created = stub.CreateClusterJob(
                embedding_pb2.CreateClusterJobRequest(
                    tenant=who, faces=embedding_pb2.ClusterFaces(crops=[crop_input(faces[0][1])])
                )
            )
            # The same file, as if an earlier version of the service had made the job.
            jobs = open_sqlite_jobs(settings.resolved_cluster_db())
            with jobs.database.transaction() as db:
                db.execute("UPDATE cluster_jobs SET model = 'sface:0'")
            with pytest.raises(grpc.RpcError) as caught:
                stub.AddClusterFaces(
                    embedding_pb2.AddClusterFacesRequest(
                        tenant=who,
                        job_id=created.job_id,
                        faces=embedding_pb2.ClusterFaces(crops=[crop_input(faces[1][1])]),
                    )
                )
            assert caught.value.details().startswith(  # type: ignore[attr-defined]
                "the job's faces were embedded by sface:0; this service runs sface:"
            )
    finally:
        app.stop(grace=1.0)
        servicer.close()


def test_jobs_live_in_postgresql_with_a_pgvector_store(
    model_store: ModelStore, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    url = postgres_url()
    settings = EmbeddingSettings(port=0, store_url=url, cluster_poll_seconds=0.1)
    app, servicer = create_app(settings, model_store)
    port = app.start(0)
    app.mark_serving()
    who = tenant()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = Stub(channel)
            created = stub.CreateClusterJob(
                embedding_pb2.CreateClusterJobRequest(
                    tenant=who,
                    faces=embedding_pb2.ClusterFaces(
                        crops=[crop_input(crop) for _, crop, _ in faces[:14]]
                    ),
                )
            )
            done = wait_done(stub, who, created.job_id)
            assert done.cluster_count == 2 and sum(c.size for c in done.clusters) >= 12
            stub.DeleteClusterJob(
                embedding_pb2.DeleteClusterJobRequest(tenant=who, job_id=created.job_id)
            )
    finally:
        app.stop(grace=1.0)
        servicer.close()


@pytest.fixture
def own_service(
    model_store: ModelStore, tmp_path: Path
) -> Iterator[tuple[Stub, EmbeddingServicer, EmbeddingSettings]]:
    """A service of the test's own, so its job database can be read."""
    settings = EmbeddingSettings(
        port=0,
        store_url=f"sqlite:///{tmp_path / 'gallery'}",
        data_dir=tmp_path,
        cluster_poll_seconds=0.1,
    )
    app, servicer = create_app(settings, model_store)
    with serving(app, servicer) as address, grpc.insecure_channel(address) as channel:
        yield Stub(channel), servicer, settings


def stored_faces(settings: EmbeddingSettings, job_id: str) -> list[tuple[str, str, int]]:
    """(face token, group id, embedding bytes) of every face row the job database holds."""
    jobs = open_sqlite_jobs(settings.resolved_cluster_db())
    with jobs.database.snapshot() as db:
        rows = db.execute(
            "SELECT face_token, group_id, length(embedding) FROM cluster_faces WHERE job_id = ?"
            " ORDER BY face_id",
            (job_id,),
        ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def job_tokens(job: embedding_pb2.ClusterJob) -> set[str]:
    faces = [m for c in job.clusters for m in c.members] + list(job.unassigned)
    return {f.face_token for f in faces if f.face_token}


def test_deleted_faces_users_and_groups_leave_clustering_jobs(
    own_service: tuple[Stub, EmbeddingServicer, EmbeddingSettings],
    faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]],
) -> None:
    stub, _, settings = own_service
    who = tenant()
    for group in ("album", "other"):
        stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id=group))
    # person 0 in "album": user "a" has three photos, a3..a6 one each; person 1 in "other"
    album = [
        add_face(stub, who, "album", "a" if i < 3 else f"a{i}", faces[i][1]).face_token
        for i in range(7)
    ]
    other = [add_face(stub, who, "other", f"b{i}", faces[7 + i][1]).face_token for i in range(7)]
    created = stub.CreateClusterJob(
        embedding_pb2.CreateClusterJobRequest(
            tenant=who, faces=embedding_pb2.ClusterFaces(group_id="album", face_tokens=album)
        )
    )
    for tokens, group in ((other, "other"), ([], "")):
        stub.AddClusterFaces(
            embedding_pb2.AddClusterFacesRequest(
                tenant=who,
                job_id=created.job_id,
                faces=embedding_pb2.ClusterFaces(group_id=group, face_tokens=tokens)
                if tokens
                else embedding_pb2.ClusterFaces(
                    crops=[crop_input(crop) for _, crop, _ in faces[14:21]]  # person 2: photos
                ),
            )
        )
    done = wait_done(stub, who, created.job_id)
    assert done.cluster_count == 3 and job_tokens(done) == set(album) | set(other)

    stub.DeleteFace(
        embedding_pb2.DeleteFaceRequest(
            tenant=who, group_id="album", user_id="a3", face_token=album[3]
        )
    )
    stub.DeleteUser(embedding_pb2.DeleteUserRequest(tenant=who, group_id="album", user_id="a"))
    stub.DeleteGroup(embedding_pb2.DeleteGroupRequest(tenant=who, group_id="other"))
    deleted = set(album[:4]) | set(other)

    after = wait_done(stub, who, created.job_id)
    assert job_tokens(after) == set(album[4:])
    assert after.face_count == 10 and after.pending_count == 0
    assert sorted(c.size for c in after.clusters) == [3, 7]
    assert sum(c.size for c in after.clusters) + after.unassigned_count == 10
    rows = stored_faces(settings, created.job_id)
    assert len(rows) == 21  # face ids stay taken ...
    assert not {token for token, _, _ in rows} & deleted  # ... by rows without token
    assert sorted(size for token, group, size in rows if not token and not group) == (
        [0] * 11 + [512] * 7  # nor vector (the 7 photos' crops keep theirs)
    )


def test_a_face_deleted_while_a_job_copies_it_is_dropped(
    own_service: tuple[Stub, EmbeddingServicer, EmbeddingSettings],
    faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]],
) -> None:
    stub, servicer, settings = own_service
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="album"))
    tokens = [add_face(stub, who, "album", f"u{i}", faces[i][1]).face_token for i in range(3)]
    gallery = servicer.clusters.gallery
    read = gallery.face_embeddings
    calls: list[list[str]] = []

    def read_then_delete(tenant: str, group_id: str, face_tokens: list[str]) -> Any:
        vectors = read(tenant, group_id, face_tokens)
        if not calls:  # a DeleteFace runs to its end after the job's read, before its write
            calls.append(face_tokens)
            stub.DeleteFace(
                embedding_pb2.DeleteFaceRequest(
                    tenant=who, group_id="album", user_id="u1", face_token=tokens[1]
                )
            )
        return vectors

    servicer.clusters.gallery = type(
        "Racing", (), {"face_embeddings": staticmethod(read_then_delete)}
    )()
    try:
        created = stub.CreateClusterJob(
            embedding_pb2.CreateClusterJobRequest(
                tenant=who, faces=embedding_pb2.ClusterFaces(group_id="album", face_tokens=tokens)
            )
        )
    finally:
        servicer.clusters.gallery = gallery
    done = wait_done(stub, who, created.job_id)
    assert job_tokens(done) == {tokens[0], tokens[2]} and done.face_count == 2
    assert [(t, size) for t, _, size in stored_faces(settings, created.job_id)] == [
        (tokens[0], 512),
        ("", 0),
        (tokens[2], 512),
    ]


def test_a_face_enrolled_and_clustered_during_delete_user_is_dropped(
    own_service: tuple[Stub, EmbeddingServicer, EmbeddingSettings],
    faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DeleteUser lists the user's faces, then deletes the user: a face enrolled in between
    (and copied into a clustering job at that instant) is deleted with the user, so the job
    must drop it too; the store reports every face it deleted."""
    stub, servicer, _ = own_service
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="album"))
    first = add_face(stub, who, "album", "u", faces[0][1]).face_token
    other = add_face(stub, who, "album", "v", faces[1][1]).face_token
    listed = servicer.store.get_user
    late: list[str] = []
    jobs: list[str] = []

    def list_then_enrol(tenant_id: str, group_id: str, user_id: str) -> Any:
        user = listed(tenant_id, group_id, user_id)
        if not late:  # a second photo of u arrives and is clustered right after the listing
            late.append(add_face(stub, who, "album", "u", faces[2][1]).face_token)
            job = stub.CreateClusterJob(
                embedding_pb2.CreateClusterJobRequest(
                    tenant=who,
                    faces=embedding_pb2.ClusterFaces(
                        group_id="album", face_tokens=[first, late[0], other]
                    ),
                )
            )
            jobs.append(job.job_id)
            assert job_tokens(wait_done(stub, who, job.job_id)) == {first, late[0], other}
        return user

    monkeypatch.setattr(servicer.store, "get_user", list_then_enrol)
    stub.DeleteUser(embedding_pb2.DeleteUserRequest(tenant=who, group_id="album", user_id="u"))
    monkeypatch.undo()
    after = wait_done(stub, who, jobs[0])
    assert job_tokens(after) == {other} and after.face_count == 1


def test_a_tenant_holds_at_most_max_jobs(
    limited: Stub, faces: list[tuple[str, NDArray[np.uint8], NDArray[np.float64]]]
) -> None:
    who = tenant()
    request = embedding_pb2.CreateClusterJobRequest(
        tenant=who, faces=embedding_pb2.ClusterFaces(crops=[crop_input(faces[0][1])])
    )
    for _ in range(3):
        limited.CreateClusterJob(request)
    with pytest.raises(grpc.RpcError) as caught:
        limited.CreateClusterJob(request)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("faceflow-error-code", "RATE_LIMITED") in caught.value.trailing_metadata()
    assert caught.value.details().startswith("the tenant holds 3 clustering jobs, the most allowed")
