"""The SDK and CLI refuse bad input before sending anything, and map answers that are not
FaceFlow's (a proxy's HTML page) onto the error classes callers catch. Server answers are
scripted where the behaviour is the client's own logic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from faceflow_sdk import FaceflowClient
from faceflow_sdk.cli import main
from faceflow_sdk.cluster_folder import MAX_PHOTOS_PER_REQUEST, PhotoFailure, batches
from faceflow_sdk.enroll_folder import enroll_folder
from faceflow_sdk.errors import (
    FaceflowError,
    ImageTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
)
from faceflow_sdk.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify_webhook
from gateway.api.routes.clusters import MAX_PHOTOS

PROXY_PAGE = (  # what nginx sends while the gateway restarts
    "<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center></body></html>\n"
)


def recording(*answers: httpx.Response) -> tuple[FaceflowClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []
    pending = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return pending.pop(0)

    client = FaceflowClient(
        "http://faceflow.test",
        api_key="k",
        transport=httpx.MockTransport(answer),
        sleep=lambda _: None,
        retries=1,
    )
    return client, sent


@pytest.mark.parametrize("dots", [".", "..", "..."])
def test_an_id_of_dots_is_never_sent(dots: str) -> None:
    """``..`` as a path segment is the parent: httpx would send DELETE /groups/staff for
    delete_user("staff", "..") and delete the whole group."""
    client, sent = recording()
    for call in (
        lambda: client.delete_user("staff", dots),
        lambda: client.delete_face("staff", "alice", dots),
        lambda: client.delete_group(dots),
        lambda: client.get_user(dots, "alice"),
    ):
        with pytest.raises(ValueError, match="must not be only dots"):
            call()
    assert sent == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:abc", "is not a valid URL"),
        ("ftp://server", "must look like http://host:port"),
        ("127.0.0.1:8000", "must look like http://host:port"),
        ("http://", "must look like http://host:port"),
    ],
)
def test_a_bad_server_url_is_a_value_error(url: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        FaceflowClient(url, api_key="k")


def test_a_timeout_must_be_positive() -> None:
    for timeout in (0, -1):
        with pytest.raises(ValueError, match="timeout must be a positive number"):
            FaceflowClient("http://faceflow.test", api_key="k", timeout=timeout)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(502, ServiceUnavailableError), (503, ServiceUnavailableError), (413, ImageTooLargeError)],
)
def test_a_proxy_page_maps_to_the_error_class_of_its_status(
    status: int, cls: type[FaceflowError]
) -> None:
    client, _ = recording(*[httpx.Response(status, text=PROXY_PAGE)] * 2)
    with pytest.raises(cls) as caught:
        client.detect(b"\xff\xd8photo")
    message = str(caught.value)
    assert "\n" not in message and "<" not in message
    assert message.startswith(f"{cls.code}: HTTP {status} without a FaceFlow error body")
    assert "502 Bad Gateway" in message and caught.value.status == status


def test_a_proxy_429_with_an_odd_retry_after_is_retried_then_rate_limited() -> None:
    client, sent = recording(
        *[
            httpx.Response(
                429, text="Too Many Requests", headers={b"retry-after": "²".encode("latin-1")}
            )
        ]
        * 2
    )
    with pytest.raises(RateLimitedError):
        client.detect(b"\xff\xd8photo")
    assert len(sent) == 2  # retried once (the default backoff), not crashed on "²"


def test_an_unknown_status_without_envelope_keeps_its_number() -> None:
    client, _ = recording(httpx.Response(418, text="I'm a teapot"))
    with pytest.raises(FaceflowError) as caught:
        client.detect(b"\xff\xd8photo")
    assert caught.value.code == "HTTP_418" and type(caught.value) is FaceflowError


def test_one_group_name_is_one_group() -> None:
    stream = {"stream_id": "vs_x", "group_ids": ["staff"]}
    client, sent = recording(
        httpx.Response(200, json=stream), httpx.Response(200, json={"faces": []})
    )
    client.create_video_stream("staff")
    assert json.loads(sent[0].content)["group_ids"] == ["staff"]
    client.detect(b"\xff\xd8photo", fields="age")
    assert b'name="fields"\r\n\r\nage\r\n' in sent[1].content


def test_webhook_headers_outside_ascii_are_not_a_match() -> None:
    body, now = b'{"event": "x"}', 1_700_000_000
    good = {TIMESTAMP_HEADER: str(now), SIGNATURE_HEADER: sign("s", str(now), body)}
    assert verify_webhook("s", body, good, now=now)
    assert not verify_webhook("s", body, {**good, TIMESTAMP_HEADER: "²"}, now=now)
    assert not verify_webhook("s", body, {**good, SIGNATURE_HEADER: "sha256=é"}, now=now)


def test_the_cluster_batch_limit_is_the_servers() -> None:
    assert MAX_PHOTOS_PER_REQUEST == MAX_PHOTOS


def test_an_unreadable_photo_is_a_failure_not_the_end(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        (tmp_path / name).write_bytes(b"\xff\xd8" + name.encode())
    paths = sorted(tmp_path.iterdir())
    paths[1].unlink()  # gone between the listing and the read
    failures: list[PhotoFailure] = []
    sent = [name for batch in batches(tmp_path, paths, 2, 1 << 20, failures) for name, _ in batch]
    assert sent == ["a.jpg", "c.jpg"]
    assert [(f.photo, f.code) for f in failures] == [("b.jpg", "UNREADABLE")]


def test_enroll_folder_checks_its_state_file_before_enrolling(tmp_path: Path) -> None:
    (tmp_path / "ann.jpg").write_bytes(b"\xff\xd8photo")
    client, sent = recording()
    with pytest.raises(ValueError, match=r"cannot write the state file .*pass --state"):
        enroll_folder(client, "g", tmp_path, state_path=tmp_path / "missing" / "state.json")
    state = tmp_path / "state.json"
    for content in ("[1, 2]", '{"group_id": "g", "done": []}', "not json"):
        state.write_text(content)
        with pytest.raises(ValueError, match="is not an enroll-folder state file"):
            enroll_folder(client, "g", tmp_path, state_path=state)
    assert sent == []  # nothing was created or enrolled


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--timeout", "0", "groups"], "argument --timeout: must be above 0 seconds"),
        (["--timeout", "x", "groups"], "argument --timeout: must be a number of seconds"),
        (["cluster", "album", "--batch", "40"], "argument --batch: must be from 1 to 32"),
        (["watch", "0", "--group", "g", "--max-side", "0"], "must be from 32 to 8192"),
        (["watch", "0", "--group", "g", "--jpeg-quality", "101"], "must be from 1 to 100"),
    ],
)
def test_numeric_options_are_usage_errors(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert said in capsys.readouterr().err


def test_a_bad_url_or_json_path_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("FACEFLOW_")]:
        monkeypatch.delenv(key)
    assert main(["--url", "http://127.0.0.1:abc", "--api-key", "k", "groups"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the server URL 'http://127.0.0.1:abc' is not a valid URL")
    assert "Traceback" not in err
    argv = ["--url", "http://127.0.0.1:9", "--api-key", "k", "cluster", str(tmp_path)]
    assert main([*argv, "--json", str(tmp_path / "no" / "p.json")]) == 2
    assert "not a file in an existing folder" in capsys.readouterr().err


def test_ctrl_c_is_exit_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("faceflow_sdk.cli.run", interrupted)
    assert main(["--url", "http://faceflow.test", "--api-key", "k", "groups"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
