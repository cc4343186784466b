"""The EmbeddingService over real gRPC: in-process server on a free port, real SFace and store."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator

import grpc
import numpy as np
import pytest
from faceflow.common.v1 import common_pb2
from faceflow.embedding.v1 import embedding_pb2, embedding_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from numpy.typing import NDArray

from services.embedding.scores import similarity_to_score
from services.embedding.server import create_app
from services.embedding.settings import EmbeddingSettings
from services.shared.alignment import ALIGNED_SIZE, align_face
from services.shared.errors import ERROR_CODE_METADATA_KEY
from services.shared.model_store import ModelStore
from tests.helpers import images
from tests.helpers.faces import ASTRONAUT_LANDMARKS
from tests.helpers.serving import serving
from tests.services.embedding.store.conftest import postgres_url


@pytest.fixture(scope="module")
def channel(embedding_address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(embedding_address) as opened:
        yield opened


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> embedding_pb2_grpc.EmbeddingServiceStub:
    return embedding_pb2_grpc.EmbeddingServiceStub(channel)


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def crop(seed: int = 0) -> NDArray[np.uint8]:
    """A real aligned face crop (the astronaut), slightly different per seed."""
    rng = np.random.default_rng(seed)
    landmarks = ASTRONAUT_LANDMARKS + (rng.normal(0.0, 1.5, (5, 2)) if seed else 0.0)
    return align_face(images.astronaut(), landmarks)


def aligned(array: NDArray[np.uint8]) -> common_pb2.AlignedCrop:
    return common_pb2.AlignedCrop(size=ALIGNED_SIZE, rgb=array.tobytes())


def face(array: NDArray[np.uint8]) -> common_pb2.Face:
    marks = common_pb2.Landmarks5(
        left_eye=common_pb2.Point(x=38.3, y=51.7),
        right_eye=common_pb2.Point(x=73.5, y=51.5),
        nose=common_pb2.Point(x=56.0, y=71.7),
        mouth_left=common_pb2.Point(x=41.5, y=92.4),
        mouth_right=common_pb2.Point(x=70.7, y=92.2),
    )
    return common_pb2.Face(
        box=common_pb2.BoundingBox(x=0, y=0, width=100, height=110),
        landmarks=marks,
        aligned_crop=aligned(array),
    )


def add_face(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
    who: str,
    group: str,
    user: str,
    array: NDArray[np.uint8],
    quality_control: embedding_pb2.QualityControl = embedding_pb2.QUALITY_CONTROL_UNSPECIFIED,
) -> embedding_pb2.AddFaceResponse:
    request = embedding_pb2.AddFaceRequest(
        tenant=who,
        group_id=group,
        user_id=user,
        face=face(array),
        image_sha256=hashlib.sha256(array.tobytes()).hexdigest(),
        quality_control=quality_control,
    )
    reply: embedding_pb2.AddFaceResponse = stub.AddFace(request)
    return reply


def error_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    error = caught.value
    codes = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
    return error.code(), str(codes.get(ERROR_CODE_METADATA_KEY, ""))  # type: ignore[attr-defined]


def test_health_is_serving(channel: grpc.Channel) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_embed_is_unit_length_and_deterministic(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    reply = stub.Embed(
        embedding_pb2.EmbedRequest(tenant="t", crops=[aligned(crop()), aligned(crop(3))])
    )
    vectors = np.array([e.values for e in reply.embeddings])
    assert vectors.shape == (2, 128)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.8  # the same face, nudged
    again = stub.Embed(embedding_pb2.EmbedRequest(tenant="t", crops=[aligned(crop())]))
    assert np.allclose(again.embeddings[0].values, vectors[0], atol=1e-6)
    assert [(m.name, m.version) for m in reply.models] == [("sface", "2021dec")]


def test_verify_embeddings_and_user(stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    who, group = tenant(), "g"
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id=group))
    token = add_face(stub, who, group, "u", crop()).face_token
    vector = stub.Embed(embedding_pb2.EmbedRequest(tenant=who, crops=[aligned(crop())])).embeddings[
        0
    ]
    orthogonal = embedding_pb2.Embedding(values=[1.0] + [0.0] * 127)
    user = embedding_pb2.Probe(user=embedding_pb2.UserRef(group_id=group, user_id="u"))
    same = stub.Verify(
        embedding_pb2.VerifyRequest(tenant=who, a=embedding_pb2.Probe(embedding=vector), b=user)
    )
    assert same.similarity == pytest.approx(1.0, abs=1e-4) and same.same_person
    assert same.face_token == token
    other = stub.Verify(
        embedding_pb2.VerifyRequest(
            tenant=who,
            a=embedding_pb2.Probe(embedding=vector),
            b=embedding_pb2.Probe(embedding=orthogonal),
        )
    )
    assert other.score == pytest.approx(similarity_to_score(other.similarity), abs=1e-4)
    assert other.thresholds.far_1e3 < other.thresholds.far_1e4 < other.thresholds.far_1e5


def test_bad_requests_have_codes(stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    bad_crop = common_pb2.AlignedCrop(size=112, rgb=b"\x00" * 100)
    cases = [
        lambda: stub.Embed(embedding_pb2.EmbedRequest(tenant="t", crops=[bad_crop])),
        lambda: stub.Embed(embedding_pb2.EmbedRequest(tenant="t")),
        lambda: stub.Embed(embedding_pb2.EmbedRequest(tenant="", crops=[aligned(crop())])),
        lambda: stub.Verify(embedding_pb2.VerifyRequest(tenant="t")),
        lambda: stub.Verify(
            embedding_pb2.VerifyRequest(
                tenant="t",
                a=embedding_pb2.Probe(embedding=embedding_pb2.Embedding(values=[1.0, 2.0])),
                b=embedding_pb2.Probe(crop=aligned(crop())),
            )
        ),
        lambda: stub.Search(embedding_pb2.SearchRequest(tenant="t", group_ids=["g"])),
        lambda: stub.Search(
            embedding_pb2.SearchRequest(
                tenant="t",
                group_ids=["g"],
                probes=[embedding_pb2.Probe(user=embedding_pb2.UserRef(group_id="g", user_id="u"))],
            )
        ),
        lambda: stub.AddFace(embedding_pb2.AddFaceRequest(tenant="t", group_id="g", user_id="u")),
        *[
            lambda value=value: stub.Search(  # type: ignore[misc]
                embedding_pb2.SearchRequest(
                    tenant="t",
                    group_ids=["g"],
                    fpir=value,
                    probes=[embedding_pb2.Probe(crop=aligned(crop()))],
                )
            )
            for value in (0.0, 1e-7, 0.2, -1.0)
        ],
        lambda: stub.Search(
            embedding_pb2.SearchRequest(
                tenant="t",
                group_ids=["g"],
                min_score=101.0,
                probes=[embedding_pb2.Probe(crop=aligned(crop()))],
            )
        ),
    ]
    for call in cases:
        assert error_of(call) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")


def test_malformed_faces_are_invalid_and_not_enrolled(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    """A face with NaN, infinite or degenerate (all-zero) landmarks or box is INVALID_ARGUMENT,
    with any quality control, and nothing is enrolled."""
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    nan, inf = float("nan"), float("inf")

    def broken(change: Callable[[common_pb2.Face], None]) -> common_pb2.Face:
        message = face(crop())
        change(message)
        return message

    cases = {
        "face.landmarks must be finite numbers": [
            broken(lambda f: setattr(f.landmarks.left_eye, "x", nan)),
            broken(lambda f: setattr(f.landmarks.mouth_right, "y", inf)),
            broken(lambda f: setattr(f.landmarks.nose, "x", -inf)),
        ],
        "face.landmarks: the two eyes coincide": [
            broken(lambda f: f.landmarks.CopyFrom(common_pb2.Landmarks5())),
        ],
        "face.landmarks are missing (five points are required)": [
            broken(lambda f: f.ClearField("landmarks")),
        ],
        "face.box must have a positive width and height": [
            broken(lambda f: setattr(f.box, "width", nan)),
            broken(lambda f: setattr(f.box, "height", inf)),
            broken(lambda f: setattr(f.box, "x", nan)),
            broken(lambda f: f.box.CopyFrom(common_pb2.BoundingBox())),
        ],
        "face.box is missing": [broken(lambda f: f.ClearField("box"))],
    }
    for message, faces in cases.items():
        for bad in faces:
            for level in (embedding_pb2.QUALITY_CONTROL_NONE, embedding_pb2.QUALITY_CONTROL_HIGH):
                request = embedding_pb2.AddFaceRequest(
                    tenant=who,
                    group_id="g",
                    user_id="u",
                    face=bad,
                    image_sha256=hashlib.sha256(bad.SerializeToString()).hexdigest(),
                    quality_control=level,
                )
                with pytest.raises(grpc.RpcError) as caught:
                    stub.AddFace(request)
                error = caught.value
                codes = dict(error.trailing_metadata() or ())  # type: ignore[attr-defined]
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
                assert codes.get(ERROR_CODE_METADATA_KEY) == "INVALID_ARGUMENT"
                assert error.details() == message  # type: ignore[attr-defined]
    listed = stub.ListUsers(embedding_pb2.ListUsersRequest(tenant=who, group_id="g"))
    assert listed.total == 0 and not listed.users
    assert add_face(stub, who, "g", "u", crop()).face_token  # the well-formed face enrolls


def test_not_found_and_exists_codes(stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    who = tenant()
    assert error_of(
        lambda: stub.ListUsers(embedding_pb2.ListUsersRequest(tenant=who, group_id="none"))
    ) == (grpc.StatusCode.NOT_FOUND, "GROUP_NOT_FOUND")
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    assert error_of(
        lambda: stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    ) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS")
    assert error_of(
        lambda: stub.GetUser(embedding_pb2.GetUserRequest(tenant=who, group_id="g", user_id="x"))
    ) == (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")


def test_low_quality_code(stub: embedding_pb2_grpc.EmbeddingServiceStub) -> None:
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    dark = np.asarray(crop() * 0.15, dtype=np.uint8)
    code = error_of(
        lambda: add_face(
            stub, who, "g", "u", dark, quality_control=embedding_pb2.QUALITY_CONTROL_NORMAL
        )
    )
    assert code == (grpc.StatusCode.INVALID_ARGUMENT, "LOW_QUALITY")
    assert add_face(stub, who, "g", "u", dark).face_token  # NONE (the default) accepts it


def test_search_holds_the_fpir_over_the_users_searched(
    stub: embedding_pb2_grpc.EmbeddingServiceStub, model_store: ModelStore
) -> None:
    from services.embedding.thresholds import FarTable

    spec = model_store.spec("sface")
    table = FarTable.from_params(spec.params, spec.name)
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    for user, seeds in (("ann", (1, 2, 3)), ("bob", (4,)), ("cy", (5,))):
        for seed in seeds:
            add_face(stub, who, "g", user, crop(seed))
    probe = [embedding_pb2.Probe(crop=aligned(crop(9)))]
    reply = stub.Search(embedding_pb2.SearchRequest(tenant=who, group_ids=["g"], probes=probe))
    assert reply.gallery_size == 3 and reply.fpir == pytest.approx(1e-3)
    assert reply.far == pytest.approx(1e-3 / 3, rel=1e-3)
    expected = table.similarity_at_far(reply.far)
    assert reply.min_score == pytest.approx(similarity_to_score(expected), abs=0.01)
    explicit = stub.Search(
        embedding_pb2.SearchRequest(
            tenant=who, group_ids=["g"], probes=probe, min_score=50.0, fpir=1e-2
        )
    )
    assert explicit.min_score == 50.0
    assert explicit.far == pytest.approx(table.far_at_similarity(0.5), rel=1e-6)


def test_concurrent_enrolls_and_searches_are_consistent(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    who, group = tenant(), "busy"
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id=group))
    failures: list[str] = []
    tokens: dict[str, str] = {}
    lock = threading.Lock()

    def worker(index: int) -> None:
        for step in range(6):
            seed = 1000 + index * 100 + step
            user = f"w{index}-{step}"
            array = crop(seed)
            token = add_face(stub, who, group, user, array).face_token
            with lock:
                tokens[user] = token
            reply = stub.Search(
                embedding_pb2.SearchRequest(
                    tenant=who,
                    group_ids=[group],
                    top_k=100,
                    min_score=0.0,
                    probes=[embedding_pb2.Probe(crop=aligned(array))],
                )
            )
            mine = [m for m in reply.results[0].matches if m.user_id == user]
            if not mine or mine[0].face_token != token or mine[0].similarity < 0.9999:
                with lock:
                    failures.append(f"{user}: its own face was not found right after enrolling")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120.0)
    assert failures == []
    listing = stub.ListUsers(embedding_pb2.ListUsersRequest(tenant=who, group_id=group, limit=1000))
    assert listing.total == 24
    assert {u.user_id: u.faces[0].face_token for u in listing.users} == tokens
    groups = stub.ListGroups(embedding_pb2.ListGroupsRequest(tenant=who)).groups
    assert [(g.group_id, g.user_count, g.face_count) for g in groups] == [(group, 24, 24)]


PgGallery = tuple[embedding_pb2_grpc.EmbeddingServiceStub, str, str, str]


@pytest.fixture
def pg_gallery(model_store: ModelStore) -> Iterator[PgGallery]:
    """The service over the PostgreSQL + pgvector backend (FACEFLOW_TEST_POSTGRES_URL, skipped
    without it) with one group holding user "astro": (stub, tenant, group, face token)."""
    settings = EmbeddingSettings(port=0, max_workers=4, store_url=postgres_url())
    who, group = tenant(), "pg"
    with (
        serving(*create_app(settings, model_store)) as address,
        grpc.insecure_channel(address) as opened,
    ):
        pg = embedding_pb2_grpc.EmbeddingServiceStub(opened)
        pg.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id=group))
        token = add_face(pg, who, group, "astro", crop()).face_token
        yield pg, who, group, token
        pg.DeleteGroup(embedding_pb2.DeleteGroupRequest(tenant=who, group_id=group))


def test_service_on_pgvector_store(pg_gallery: PgGallery) -> None:
    """The same service over the PostgreSQL + pgvector backend."""
    pg, who, group, token = pg_gallery
    reply = pg.Search(
        embedding_pb2.SearchRequest(
            tenant=who, group_ids=[group], probes=[embedding_pb2.Probe(crop=aligned(crop(5)))]
        )
    )
    assert [(m.user_id, m.face_token) for m in reply.results[0].matches] == [("astro", token)]
    assert error_of(
        lambda: pg.Search(
            embedding_pb2.SearchRequest(
                tenant=tenant(),
                group_ids=[group],
                probes=[embedding_pb2.Probe(crop=aligned(crop()))],
            )
        )
    ) == (grpc.StatusCode.NOT_FOUND, "GROUP_NOT_FOUND")


def test_malformed_tokens_and_user_info_on_pgvector_are_client_errors(
    pg_gallery: PgGallery,
) -> None:
    """A NUL (which PostgreSQL refuses in text) or another malformed token names no face, and
    user_info with a NUL is INVALID_ARGUMENT that stores nothing: never INTERNAL."""
    pg, who, group, token = pg_gallery
    for bad in ("\x00", f"{token[:31]}\x00", "not-a-token", token.upper()):
        where = {"tenant": who, "group_id": group, "user_id": "astro", "face_token": bad}
        assert error_of(
            lambda where=where: pg.DeleteFace(embedding_pb2.DeleteFaceRequest(**where))
        ) == (grpc.StatusCode.NOT_FOUND, "FACE_NOT_FOUND")
        assert error_of(
            lambda where=where: pg.GetFaceThumbnail(embedding_pb2.GetFaceThumbnailRequest(**where))
        ) == (grpc.StatusCode.NOT_FOUND, "FACE_NOT_FOUND")
    for user in ("astro", "newcomer"):
        request = embedding_pb2.AddFaceRequest(
            tenant=who,
            group_id=group,
            user_id=user,
            face=face(crop(7)),
            image_sha256=hashlib.sha256(b"other photo").hexdigest(),
            user_info="Eileen\x00Collins",
        )
        assert error_of(lambda request=request: pg.AddFace(request)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_ARGUMENT",
        )
    listing = pg.ListUsers(embedding_pb2.ListUsersRequest(tenant=who, group_id=group))
    assert [(u.user_id, u.user_info, len(u.faces)) for u in listing.users] == [("astro", "", 1)]


def test_a_retried_enrollment_returns_the_face_the_first_attempt_stored(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    first = add_face(stub, who, "g", "ann", crop(3))
    again = embedding_pb2.AddFaceRequest(
        tenant=who,
        group_id="g",
        user_id="ann",
        face=face(crop(3)),
        image_sha256=hashlib.sha256(crop(3).tobytes()).hexdigest(),
    )
    assert error_of(lambda: stub.AddFace(again)) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "ALREADY_EXISTS",
    )
    again.retry = True
    retried = stub.AddFace(again)
    assert (retried.face_token, retried.user_id) == (first.face_token, "ann")
    user = stub.GetUser(embedding_pb2.GetUserRequest(tenant=who, group_id="g", user_id="ann"))
    assert [f.face_token for f in user.faces] == [first.face_token]


def test_a_retried_delete_of_another_users_face_is_not_found(
    stub: embedding_pb2_grpc.EmbeddingServiceStub,
) -> None:
    """Tokens are never reused, so a face still enrolled (under another user) was deleted by
    no attempt: the retry answers FACE_NOT_FOUND, as the first attempt did (it answered OK)."""
    who = tenant()
    stub.CreateGroup(embedding_pb2.CreateGroupRequest(tenant=who, group_id="g"))
    add_face(stub, who, "g", "ann", crop(3))
    bobs = add_face(stub, who, "g", "bob", crop(7))
    wrong_user = embedding_pb2.DeleteFaceRequest(
        tenant=who, group_id="g", user_id="ann", face_token=bobs.face_token
    )
    for retry in (False, True):
        wrong_user.retry = retry
        assert error_of(lambda: stub.DeleteFace(wrong_user)) == (
            grpc.StatusCode.NOT_FOUND,
            "FACE_NOT_FOUND",
        )
    user = stub.GetUser(embedding_pb2.GetUserRequest(tenant=who, group_id="g", user_id="bob"))
    assert [f.face_token for f in user.faces] == [bobs.face_token]
