"""``cluster_folder``'s own logic against a scripted server: batches (the first creates the job,
the rest add to it), a refused photo retried alone, photos without faces, polling and paging.
The real thing, through the stack, is in test_cluster_folder.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from faceflow_sdk import FaceflowClient, cluster_folder
from faceflow_sdk.cluster_folder import batches, find_photos
from faceflow_sdk.errors import InvalidArgumentError

JOB = "0123456789abcdef0123456789abcdef"


def job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "job_id": JOB,
        "status": status,
        "progress": 1.0 if status == "done" else 0.5,
        "face_count": 3,
        "pending_count": 0,
        "cluster_count": 1,
        "unassigned_count": 1,
        "far": 1e-5,
        "link_similarity": 0.468,
        "min_cluster_size": 2,
        "created_at": 1.0,
        "updated_at": 2.0,
        "models": [],
        "request_id": "r",
        "took_ms": 1.0,
        **extra,
    }


def face(face_id: int, photo: str) -> dict[str, Any]:
    box = {"x": 0, "y": 0, "width": 10, "height": 10}
    return {
        "face_id": face_id,
        "photo": photo,
        "face_index": 0,
        "box": box,
        "group_id": None,
        "face_token": None,
    }


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def uploaded(request: httpx.Request) -> list[str]:
    """The file names of a multipart request, in order."""
    body = request.content.decode("latin-1")
    return [part.split('"')[0] for part in body.split('filename="')[1:]]


def album(root: Path) -> Path:
    (root / "trip" / ".hidden").mkdir(parents=True)
    for name in ("a.jpg", "b.png", "trip/c.jpg", "trip/d.JPG", "bad.jpg", "blank.jpg"):
        (root / name).write_bytes(b"\xff\xd8" + name.encode())
    (root / "notes.txt").write_text("not a photo")
    (root / "trip" / ".hidden" / "e.jpg").write_bytes(b"\xff\xd8hidden")
    return root


def test_find_photos_and_batches(tmp_path: Path) -> None:
    root = album(tmp_path)
    paths = find_photos(root)
    names = [p.relative_to(root).as_posix() for p in paths]
    assert names == ["a.jpg", "b.png", "bad.jpg", "blank.jpg", "trip/c.jpg", "trip/d.JPG"]
    sizes = [[name for name, _ in batch] for batch in batches(root, paths, 4, 10_000)]
    assert sizes == [names[:4], names[4:]]
    one_byte_batches = list(batches(root, paths, 4, 1))  # each photo alone over the byte cap
    assert [len(batch) for batch in one_byte_batches] == [1] * 6


def test_create_then_add_a_bad_photo_alone_then_poll_and_page(tmp_path: Path) -> None:
    root = album(tmp_path)
    calls: list[tuple[str, str, list[str]]] = []
    polls = iter(["running", "done"])

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        path, names = request.url.path, uploaded(request)
        calls.append((request.method, path, names))
        if request.method == "POST" and "bad.jpg" in names and len(names) > 1:
            return error(400, "INVALID_IMAGE", "'bad.jpg' is not a readable image")
        if request.method == "POST" and names == ["bad.jpg"]:
            return error(400, "INVALID_IMAGE", "'bad.jpg' is not a readable image")
        if request.method == "POST":
            photos = [{"name": n, "face_ids": [] if n == "blank.jpg" else [1]} for n in names]
            return httpx.Response(202, json=job("queued", photos=photos))
        if request.url.params["limit"] == "1":
            return httpx.Response(200, json=job(next(polls)))
        clusters = [{"cluster_id": 0, "size": 2, "representative": face(0, "a.jpg"),
                     "faces": [face(0, "a.jpg"), face(1, "b.png")]}]  # fmt: skip
        return httpx.Response(
            200, json=job("done", clusters=clusters, unassigned=[face(2, "trip/c.jpg")])
        )

    client = FaceflowClient(
        "http://faceflow.test", api_key="k", transport=httpx.MockTransport(answer)
    )
    result = cluster_folder(client, root, batch_photos=2, far=1e-4, sleep=lambda _: None)
    posts = [(path, names) for method, path, names in calls if method == "POST"]
    assert posts == [
        ("/api/v1/clusters", ["a.jpg", "b.png"]),
        (f"/api/v1/clusters/{JOB}/photos", ["bad.jpg", "blank.jpg"]),
        (f"/api/v1/clusters/{JOB}/photos", ["bad.jpg"]),  # the refused batch, one by one
        (f"/api/v1/clusters/{JOB}/photos", ["blank.jpg"]),
        (f"/api/v1/clusters/{JOB}/photos", ["trip/c.jpg", "trip/d.JPG"]),
    ]
    assert [(f.photo, f.code) for f in result.failures] == [("bad.jpg", "INVALID_IMAGE")]
    assert result.faceless == ["blank.jpg"]
    assert [c["size"] for c in result.clusters] == [2]
    assert [f["photo"] for f in result.unassigned] == ["trip/c.jpg"]
    assert not result.complete  # one photo failed
    first = calls[0]
    assert first[1] == "/api/v1/clusters"


def test_the_parameters_go_with_the_first_batch_only(tmp_path: Path) -> None:
    root = album(tmp_path)
    forms: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        forms.append(request.content.decode("latin-1"))
        return error(400, "INVALID_ARGUMENT", "'far' must be between 1e-06 and 0.01")

    client = FaceflowClient(
        "http://faceflow.test", api_key="k", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(InvalidArgumentError, match="'far' must be between"):
        cluster_folder(client, root, far=0.5, min_cluster_size=3)
    assert 'name="far"\r\n\r\n0.5' in forms[0] and 'name="min_cluster_size"\r\n\r\n3' in forms[0]


def test_enrolled_faces_go_as_json() -> None:
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.read()))
        return httpx.Response(202, json=job("queued"))

    client = FaceflowClient(
        "http://faceflow.test", api_key="k", transport=httpx.MockTransport(answer)
    )
    client.create_cluster_job(group_id="album", face_tokens=["a" * 32], min_cluster_size=1)
    assert bodies == [{"group_id": "album", "face_tokens": ["a" * 32], "min_cluster_size": 1}]
    with pytest.raises(ValueError, match="either photos or group_id"):
        client.create_cluster_job()


def test_a_batch_with_too_many_faces_goes_again_in_halves(tmp_path: Path) -> None:
    root = album(tmp_path)
    sent: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        names = uploaded(request)
        if request.method == "GET":
            empty = {"cluster_count": 0, "unassigned_count": 0, "clusters": [], "unassigned": []}
            return httpx.Response(200, json=job("done", **empty))
        sent.append(names)
        if len(names) > 2:
            return error(400, "TOO_MANY_FACES", "the 4 photos hold 300 faces")
        photos = [{"name": n, "face_ids": [1]} for n in names]
        return httpx.Response(202, json=job("queued", photos=photos))

    client = FaceflowClient(
        "http://faceflow.test", api_key="k", transport=httpx.MockTransport(answer)
    )
    result = cluster_folder(client, root, batch_photos=4, sleep=lambda _: None)
    assert sent == [
        ["a.jpg", "b.png", "bad.jpg", "blank.jpg"],
        ["a.jpg", "b.png"],
        ["bad.jpg", "blank.jpg"],
        ["trip/c.jpg", "trip/d.JPG"],
    ]
    assert result.failures == [] and result.complete
