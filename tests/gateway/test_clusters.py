"""Face clustering through HTTP: the real gateway, detection and embedding gRPC servers.

Real photos: four lfw-devtest people with seven photos each (../shared/data; skipped without
it) come out as four clusters; photos added later join their person's cluster. Every bad input
is answered with its exact status, code and message.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import API, astronaut_variant, create_group, enroll, unique
from tests.helpers import images, lfw
from tests.helpers.http import assert_error, error_message

JOB = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


@pytest.fixture(scope="module")
def people(shared_data: Path) -> dict[str, list[tuple[str, bytes]]]:
    """Each person's seven photos as (file name, bytes)."""
    found: dict[str, list[tuple[str, bytes]]] = {}
    for person, path in lfw.photos(shared_data):
        found.setdefault(person, []).append((f"{person}/{path.name}", path.read_bytes()))
    return found


def files(photos: list[tuple[str, bytes]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (name, data, "image/jpeg")) for name, data in photos]


def wait_done(gw: GatewayUnderTest, job_id: str, seconds: float = 120) -> dict[str, Any]:
    """Poll until the job is done; every status seen on the way must be a known one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = gw.client.get(f"{API}/clusters/{job_id}?limit=1000", headers=gw.headers)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        assert body["status"] in {"queued", "running", "done"}, body
        assert 0.0 <= body["progress"] <= 1.0
        if body["status"] == "done":
            return body
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not finish")


def person_of(face: dict[str, Any]) -> str:
    return str(face["photo"]).split("/")[0]


def test_photos_become_one_cluster_per_person_and_added_ones_join_them(
    gw: GatewayUnderTest, people: dict[str, list[tuple[str, bytes]]]
) -> None:
    first, second, third, fourth = lfw.PEOPLE
    batch = [photo for person in (first, second, third) for photo in people[person][:6]]
    created = gw.client.post(
        f"{API}/clusters", files=files(batch), data={"far": "1e-5"}, headers=gw.headers
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert created.headers["location"] == f"{API}/clusters/{job['job_id']}"
    assert job["status"] in {"queued", "running"} and job["face_count"] >= 18
    assert [p["name"] for p in job["photos"]] == [name for name, _ in batch]
    assert sum(len(p["face_ids"]) for p in job["photos"]) == job["faces_added"]
    assert job["far"] == 1e-5 and 0.4 < job["link_similarity"] < 0.6
    assert {m["name"] for m in job["models"]} == {"yunet", "sface"}
    done = wait_done(gw, job["job_id"])
    assert done["cluster_count"] == 3 and done["pending_count"] == 0 and done["progress"] == 1.0
    for cluster in done["clusters"]:
        assert len({person_of(face) for face in cluster["faces"]}) == 1
        assert cluster["representative"] in cluster["faces"]
        assert cluster["size"] == len(cluster["faces"]) >= 5
    before = {face["face_id"]: c["cluster_id"] for c in done["clusters"] for face in c["faces"]}

    # Incremental: the seventh photo of each and a new person's seven.
    more = [people[person][6] for person in (first, second, third)] + people[fourth]
    added = gw.client.post(
        f"{API}/clusters/{job['job_id']}/photos", files=files(more), headers=gw.headers
    )
    assert added.status_code == 202, added.text
    grown = added.json()
    assert grown["status"] in {"queued", "running"}
    assert grown["face_count"] == done["face_count"] + grown["faces_added"]
    assert min(i for p in grown["photos"] for i in p["face_ids"]) == done["face_count"]
    final = wait_done(gw, job["job_id"])
    assert final["cluster_count"] == 4 and final["pending_count"] == 0
    persons = [{person_of(face) for face in c["faces"]} for c in final["clusters"]]
    assert sorted(map(sorted, persons)) == [[p] for p in sorted(lfw.PEOPLE)]
    new_ids = {c["cluster_id"]: {f["face_id"] for f in c["faces"]} for c in final["clusters"]}
    old_clusters = {
        tuple(sorted(i for i in before if before[i] == c)) for c in set(before.values())
    }
    for members in old_clusters:  # nobody moved: each old cluster is inside one new cluster
        assert any(set(members) <= ids for ids in new_ids.values())
    seventh = {name for name, _ in more[:3]}
    for cluster in final["clusters"]:
        owner = person_of(cluster["faces"][0])
        joined = [f for f in cluster["faces"] if f["photo"] in seventh]
        assert all(person_of(face) == owner for face in joined)
    assert sum(1 for c in final["clusters"] for f in c["faces"] if f["photo"] in seventh) == 3


def test_pages_of_clusters_and_unassigned_faces(
    gw: GatewayUnderTest, people: dict[str, list[tuple[str, bytes]]]
) -> None:
    first, second, *_ = lfw.PEOPLE
    photos = people[first][:4] + people[second][:3] + [("astronaut.jpg", images.astronaut_jpeg())]
    created = gw.client.post(f"{API}/clusters", files=files(photos), headers=gw.headers)
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    everything = wait_done(gw, job_id)
    assert everything["cluster_count"] == 2 and everything["unassigned_count"] >= 1
    assert [c["cluster_id"] for c in everything["clusters"]] == [0, 1]
    assert everything["clusters"][0]["size"] >= everything["clusters"][1]["size"]
    astronaut = [f for f in everything["unassigned"] if f["photo"] == "astronaut.jpg"]
    assert len(astronaut) == 1 and astronaut[0]["face_token"] is None
    assert astronaut[0]["box"]["width"] > 50 and astronaut[0]["face_index"] == 0
    page = gw.client.get(
        f"{API}/clusters/{job_id}",
        params={"offset": 1, "limit": 1, "unassigned_offset": 0, "unassigned_limit": 1},
        headers=gw.headers,
    ).json()
    assert [c["cluster_id"] for c in page["clusters"]] == [1]
    assert page["clusters"][0] == everything["clusters"][1]
    assert len(page["unassigned"]) == 1 and page["unassigned"][0] == everything["unassigned"][0]
    assert (page["offset"], page["limit"], page["unassigned_limit"]) == (1, 1, 1)
    past = gw.client.get(f"{API}/clusters/{job_id}?offset=5", headers=gw.headers).json()
    assert past["clusters"] == [] and past["cluster_count"] == 2
    for query, message in [
        ("limit=0", "'limit' must be between 1 and 1000"),
        ("limit=1001", "'limit' must be between 1 and 1000"),
        ("offset=-1", "'offset' must be between 0 and 2147483647"),
        ("unassigned_limit=x", "'unassigned_limit' must be an integer"),
    ]:
        reply = gw.client.get(f"{API}/clusters/{job_id}?{query}", headers=gw.headers)
        assert error_message(reply, 400, "INVALID_ARGUMENT") == message
    deleted = gw.client.delete(f"{API}/clusters/{job_id}", headers=gw.headers)
    assert deleted.status_code == 200 and deleted.json() | {"request_id": "", "took_ms": 0} == {
        "job_id": job_id,
        "deleted": True,
        "request_id": "",
        "took_ms": 0,
    }
    assert_error(
        gw.client.get(f"{API}/clusters/{job_id}", headers=gw.headers), 404, "CLUSTER_JOB_NOT_FOUND"
    )


def test_json_photos_and_min_cluster_size_one(gw: GatewayUnderTest) -> None:
    body = {
        "photos": [base64.b64encode(data).decode() for data in (images.astronaut_jpeg(),)]
        + [base64.b64encode(astronaut_variant()).decode()],
        "min_cluster_size": 1,
    }
    created = gw.client.post(f"{API}/clusters", json=body, headers=gw.headers)
    assert created.status_code == 202, created.text
    job = created.json()
    assert [(p["index"], p["name"]) for p in job["photos"]] == [(0, "photos[0]"), (1, "photos[1]")]
    assert job["min_cluster_size"] == 1
    done = wait_done(gw, job["job_id"])
    assert done["cluster_count"] == 1 and done["unassigned_count"] == 0
    assert {f["photo"] for f in done["clusters"][0]["faces"]} == {"photos[0]", "photos[1]"}


def test_enrolled_faces_are_clustered_by_token(gw: GatewayUnderTest) -> None:
    group = unique("album")
    assert create_group(gw, group).status_code == 200
    tokens = [
        enroll(gw, group, "eileen", images.astronaut_jpeg()).json()["face_token"],
        enroll(gw, group, "eileen", astronaut_variant()).json()["face_token"],
    ]
    created = gw.client.post(
        f"{API}/clusters", json={"group_id": group, "face_tokens": tokens}, headers=gw.headers
    )
    assert created.status_code == 202, created.text
    assert created.json()["photos"] == [] and created.json()["faces_added"] == 2
    done = wait_done(gw, created.json()["job_id"])
    faces = done["clusters"][0]["faces"]
    assert [(f["group_id"], f["face_token"], f["photo"], f["box"]) for f in faces] == [
        (group, token, None, None) for token in tokens
    ]
    again = gw.client.post(
        f"{API}/clusters/{done['job_id']}/photos",
        data={"group_id": group, "face_tokens": tokens[0]},
        headers=gw.headers,
    )
    assert (
        error_message(again, 409, "ALREADY_EXISTS") == f"face {tokens[0]!r} is in the job already"
    )
    unknown = gw.client.post(
        f"{API}/clusters", json={"group_id": group, "face_tokens": ["f" * 32]}, headers=gw.headers
    )
    assert error_message(unknown, 404, "FACE_NOT_FOUND") == (
        f"face '{'f' * 32}' not found in group '{group}'"
    )
    no_group = gw.client.post(
        f"{API}/clusters", json={"group_id": "no-such", "face_tokens": tokens}, headers=gw.headers
    )
    assert error_message(no_group, 404, "GROUP_NOT_FOUND") == "group 'no-such' not found"


def test_bad_photos_are_named(gw: GatewayUnderTest) -> None:
    astronaut = ("astronaut.jpg", images.astronaut_jpeg(), "image/jpeg")
    cases = [
        (
            [astronaut, ("notes.txt", b"not an image at all", "text/plain")],
            400,
            "INVALID_IMAGE",
            "'photos[1] (notes.txt)' is not a readable JPEG, PNG, WebP or BMP image",
        ),
        (
            [("empty.jpg", b"", "image/jpeg"), astronaut],
            400,
            "INVALID_IMAGE",
            "the image 'photos[0] (empty.jpg)' is empty",
        ),
        (
            [("blank.jpg", images.no_face_jpeg(), "image/jpeg")] * 2,
            400,
            "NO_FACE",
            "no face in any of 2 photos",
        ),
        (
            [("x" * 300 + ".jpg", images.astronaut_jpeg(), "image/jpeg")],
            400,
            "INVALID_ARGUMENT",
            "photos[0]: the file name is over 256 characters",
        ),
        (
            [astronaut] * 33,
            400,
            "INVALID_ARGUMENT",
            "at most 32 photos per request, got 33: send the rest with "
            "POST /clusters/{job_id}/photos",
        ),
    ]
    for photos, status, code, message in cases:
        reply = gw.client.post(
            f"{API}/clusters", files=[("photos", p) for p in photos], headers=gw.headers
        )
        assert error_message(reply, status, code) == message


def test_a_file_name_with_a_nul_is_refused(gw: GatewayUnderTest) -> None:
    """httpx escapes a NUL in a file name; a hand-made multipart body carries it through."""
    photo = images.astronaut_jpeg()
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="photos"; filename="a\x00b.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--b0undary--\r\n"
    )
    headers = {**gw.headers, "content-type": "multipart/form-data; boundary=b0undary"}
    reply = gw.client.post(f"{API}/clusters", content=body, headers=headers)
    assert error_message(reply, 400, "INVALID_ARGUMENT") == (
        "photos[0]: the file name contains a NUL character"
    )


def test_too_many_faces_per_request(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> None:
    gw = make_gateway(
        detection=detection_address, embedding=embedding_address, cluster_max_request_faces=3
    )
    crowd = images.encode(images.group_photo(4))
    reply = gw.client.post(
        f"{API}/clusters",
        files=[("photos", ("crowd.jpg", crowd, "image/jpeg"))],
        headers=gw.headers,
    )
    assert error_message(reply, 400, "TOO_MANY_FACES") == (
        "the 1 photos hold 4 faces; at most 3 faces per request: send fewer photos at a time"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "send photos (one or more files), or group_id with face_tokens"),
        ({"far": "0.001"}, "send photos (one or more files), or group_id with face_tokens"),
        ({"group_id": "g"}, "group_id needs face_tokens: the enrolled faces to cluster"),
        ({"face_tokens": "a" * 32}, "face_tokens needs the group_id that holds them"),
        (
            {"group_id": "g", "face_tokens": "nope"},
            "face_tokens must be face tokens (32 hex digits) as enroll gave them",
        ),
        (
            {"group_id": "g", "face_tokens": f"{'a' * 32},{'a' * 32}"},
            "face_tokens names a face twice",
        ),
        (
            {"group_id": "g", "face_tokens": "a" * 32, "far": "0.5"},
            "'far' must be between 1e-06 and 0.01",
        ),
        (
            {"group_id": "g", "face_tokens": "a" * 32, "far": "0"},
            "'far' must be between 1e-06 and 0.01",
        ),
        ({"group_id": "g", "face_tokens": "a" * 32, "far": "often"}, "'far' must be a number"),
        ({"group_id": "g", "face_tokens": "a" * 32, "far": "nan"}, "'far' must be a number"),
        (
            {"group_id": "g", "face_tokens": "a" * 32, "min_cluster_size": "0"},
            "'min_cluster_size' must be between 1 and 1000",
        ),
    ],
)
def test_bad_parameters(gw: GatewayUnderTest, body: dict[str, str], message: str) -> None:
    reply = gw.client.post(f"{API}/clusters", data=body, headers=gw.headers)
    assert error_message(reply, 400, "INVALID_ARGUMENT") == message


def test_over_256_face_tokens_are_refused_as_a_comma_list_or_an_array(
    gw: GatewayUnderTest,
) -> None:
    tokens = [f"{i:032x}" for i in range(20_000)]
    for sent in (
        gw.client.post(
            f"{API}/clusters", json={"group_id": "g", "face_tokens": tokens}, headers=gw.headers
        ),
        gw.client.post(
            f"{API}/clusters",
            data={"group_id": "g", "face_tokens": ",".join(tokens)},
            headers=gw.headers,
        ),
    ):
        assert error_message(sent, 400, "INVALID_ARGUMENT") == (
            "at most 256 face_tokens per request, got more"
        )


def test_photos_and_tokens_together_are_refused(gw: GatewayUnderTest) -> None:
    reply = gw.client.post(
        f"{API}/clusters",
        files=[("photos", ("a.jpg", images.astronaut_jpeg(), "image/jpeg"))],
        data={"group_id": "g", "face_tokens": "a" * 32},
        headers=gw.headers,
    )
    assert error_message(reply, 400, "INVALID_ARGUMENT") == (
        "send photos or group_id with face_tokens, not both"
    )


def test_unknown_and_other_tenants_jobs_are_not_found(gw: GatewayUnderTest) -> None:
    photo = [("photos", ("a.jpg", images.astronaut_jpeg(), "image/jpeg"))]
    created = gw.client.post(f"{API}/clusters", files=photo, headers=gw.headers)
    assert created.status_code == 202, created.text
    mine = created.json()["job_id"]
    other = {"x-api-key": gw.new_tenant_key(unique("tenant"))}
    for job_id, headers in ((JOB, gw.headers), ("not-a-job", gw.headers), (mine, other)):
        for reply in (
            gw.client.get(f"{API}/clusters/{job_id}", headers=headers),
            gw.client.post(f"{API}/clusters/{job_id}/photos", files=photo, headers=headers),
            gw.client.delete(f"{API}/clusters/{job_id}", headers=headers),
        ):
            assert error_message(reply, 404, "CLUSTER_JOB_NOT_FOUND") == (
                f"cluster job {job_id!r} not found"
            )
    assert gw.client.get(f"{API}/clusters/{mine}", headers=gw.headers).status_code == 200
    assert_error(gw.client.get(f"{API}/clusters/{JOB}"), 401, "UNAUTHENTICATED")
