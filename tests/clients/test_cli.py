"""The ``faceflow`` CLI as a user runs it (``python -m faceflow_sdk``) against the real stack."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from faceflow_sdk import FaceflowClient
from tests.clients import photos
from tests.clients.stack import Stack, free_port

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def faceflow(
    *args: str | Path,
    stack: Stack | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process; URL and key come from the environment like a user's."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("FACEFLOW_")}
    if stack is not None:
        child_env.update(FACEFLOW_URL=stack.url, FACEFLOW_API_KEY=stack.api_key)
    child_env.update(env or {})
    child_env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "faceflow_sdk", *map(str, args)],
        env=child_env,
        cwd=cwd or REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_detect_prints_faces(stack: Stack, tmp_path: Path) -> None:
    done = faceflow("detect", photos.astronaut(tmp_path / "a.jpg"), stack=stack)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 face in 512x512")


def test_detect_json_output(stack: Stack, tmp_path: Path) -> None:
    done = faceflow(
        "--json", "detect", photos.astronaut(tmp_path / "a.jpg"), "--fields", "mesh", stack=stack
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert len(body["faces"]) == 1 and len(body["faces"][0]["mesh"]) == 468


def test_url_and_key_options_override_the_environment(stack: Stack, tmp_path: Path) -> None:
    wrong = {"FACEFLOW_URL": f"http://127.0.0.1:{free_port()}", "FACEFLOW_API_KEY": "wrong"}
    done = faceflow(
        "--url",
        stack.url,
        "--api-key",
        stack.api_key,
        "detect",
        photos.astronaut(tmp_path / "a.jpg"),
        env=wrong,
    )
    assert done.returncode == 0, done.stderr


def test_demo_key_file_is_the_default_key(stack: Stack, tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-api-key.txt").write_text(stack.api_key + "\n")
    done = faceflow(
        "--url", stack.url, "detect", photos.astronaut(tmp_path / "a.jpg"), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr


def test_api_error_is_one_line_with_its_code(stack: Stack, tmp_path: Path) -> None:
    done = faceflow("detect", photos.not_an_image(tmp_path / "x.jpg"), stack=stack)
    assert done.returncode == 1
    assert done.stderr.startswith("error: INVALID_IMAGE: ")
    wrong_key = faceflow(
        "--api-key",
        "nope",
        "detect",
        photos.astronaut(tmp_path / "a.jpg"),
        env={"FACEFLOW_URL": stack.url},
    )
    assert wrong_key.returncode == 1 and "UNAUTHENTICATED" in wrong_key.stderr


def test_unreachable_server_and_missing_photo(tmp_path: Path) -> None:
    down = faceflow(
        "--url",
        f"http://127.0.0.1:{free_port()}",
        "--api-key",
        "k",
        "detect",
        photos.astronaut(tmp_path / "a.jpg"),
    )
    assert down.returncode == 1 and "CONNECTION_FAILED" in down.stderr
    missing = faceflow("--api-key", "k", "detect", tmp_path / "missing.jpg")
    assert missing.returncode == 2 and "missing.jpg" in missing.stderr


def test_bad_usage_exits_2() -> None:
    assert faceflow("detect").returncode == 2
    assert faceflow("no-such-command").returncode == 2


def test_groups_create_or_delete_without_a_group_is_bad_usage() -> None:
    for action in ("create", "delete"):
        done = faceflow("--api-key", "k", "groups", action)
        assert done.returncode == 2, done.stderr
        assert f"'groups {action}' needs a GROUP" in done.stderr and done.stdout == ""
        assert done.stderr.startswith("usage: ")


class _Readiness(http.server.BaseHTTPRequestHandler):
    """/readyz as the gateway answers it: 200 when every service is SERVING, else 503."""

    services: ClassVar[dict[str, str]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        ready = all(state == "SERVING" for state in self.services.values())
        body: dict[str, object] = {"services": self.services}
        if ready:
            body |= {"status": "ready", "request_id": "r", "took_ms": 1.0}
        else:
            body["error"] = {
                "code": "SERVICE_UNAVAILABLE",
                "message": "not ready",
                "request_id": "r",
            }
        data = json.dumps(body).encode()
        self.send_response(200 if ready else 503)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def readiness() -> Iterator[tuple[str, type[_Readiness]]]:
    """A real HTTP server answering /readyz with the services its handler class holds."""
    handler = type("Handler", (_Readiness,), {"services": {}, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_readyz_names_the_services_not_serving(
    readiness: tuple[str, type[_Readiness]],
) -> None:
    url, server = readiness
    server.services = {
        "detection": "SERVING",
        "embedding": "UNREACHABLE",
        "liveness": "NOT_SERVING",
    }
    done = faceflow("readyz", env={"FACEFLOW_URL": url, "FACEFLOW_API_KEY": "k"})
    assert done.returncode == 1
    assert done.stderr == "not ready: embedding UNREACHABLE, liveness NOT_SERVING\n"
    assert server.hits == ["/readyz"]  # asked once: a 503 of /readyz is not retried
    as_json = faceflow("readyz", "--json", env={"FACEFLOW_URL": url, "FACEFLOW_API_KEY": "k"})
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["services"] == server.services

    server.services = {"detection": "SERVING", "embedding": "SERVING"}
    ready = faceflow("readyz", env={"FACEFLOW_URL": url, "FACEFLOW_API_KEY": "k"})
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout == "ready: detection SERVING, embedding SERVING\n"


def test_verify_enroll_search(stack: Stack, tmp_path: Path) -> None:
    group = f"cli-{uuid.uuid4().hex[:8]}"
    a = photos.astronaut(tmp_path / "a.jpg")
    b = photos.astronaut_mirrored(tmp_path / "b.jpg")
    verified = faceflow("verify", a, b, stack=stack)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("SAME person")
    assert faceflow("groups", "create", group, stack=stack).returncode == 0
    enrolled = faceflow("enroll", group, "eileen", a, stack=stack)
    assert enrolled.returncode == 0, enrolled.stderr
    assert enrolled.stdout.startswith(f"enrolled eileen in {group}: face_token ")
    users = faceflow("users", group, stack=stack)
    assert users.returncode == 0 and users.stdout.startswith("eileen: 1 face(s)"), users.stdout
    found = faceflow("search", group, b, stack=stack)
    assert found.returncode == 0, found.stderr
    assert f"eileen ({group})" in found.stdout
    no_group = faceflow("search", "no-such-group", b, stack=stack)
    assert no_group.returncode == 1 and "GROUP_NOT_FOUND" in no_group.stderr


def test_enroll_folder_reports_failures_and_resumes(stack: Stack, tmp_path: Path) -> None:
    group = f"folder-{uuid.uuid4().hex[:8]}"
    tree = photos.enroll_tree(tmp_path / "people")
    state = tmp_path / "state.json"

    interrupted = faceflow(
        "--url",
        f"http://127.0.0.1:{free_port()}",
        "enroll-folder",
        group,
        tree,
        "--state",
        state,
        env={"FACEFLOW_API_KEY": stack.api_key},
    )
    assert interrupted.returncode == 1
    assert "STOPPED: CONNECTION_FAILED" in interrupted.stdout

    first = faceflow("enroll-folder", group, tree, "--state", state, stack=stack)
    assert first.returncode == 1, first.stderr  # one photo has no face
    assert first.stdout.startswith("2 enrolled now, 0 done before, 1 failed, of 3 photos")
    assert "FAILED nobody/blank.jpg: NO_FACE" in first.stdout
    assert "notes.txt" in first.stdout
    recorded = json.loads(state.read_text())
    assert set(recorded["done"]) == {"eileen/a.jpg", "eileen/b.jpg"}
    assert set(recorded["failed"]) == {"nobody/blank.jpg"}

    (tree / "nobody" / "blank.jpg").unlink()
    photos.astronaut(tree / "nobody" / "c.jpg")
    second = faceflow("--json", "enroll-folder", group, tree, "--state", state, stack=stack)
    assert second.returncode == 0, second.stdout + second.stderr
    report = json.loads(second.stdout)
    assert report["enrolled"] == 1 and report["already_done"] == 2 and report["complete"]

    with FaceflowClient(stack.url, stack.api_key) as client:
        assert len(client.get_user(group, "eileen")["faces"]) == 2  # nothing enrolled twice
        assert len(client.get_user(group, "nobody")["faces"]) == 1

    state.unlink()  # state lost: photos already enrolled are recognised, not failed
    third = faceflow("--json", "enroll-folder", group, tree, "--state", state, stack=stack)
    assert third.returncode == 0, third.stdout + third.stderr
    assert json.loads(third.stdout)["already_done"] == 3


def test_enroll_folder_uses_a_state_file_in_the_folder_by_default(
    stack: Stack, tmp_path: Path
) -> None:
    group = f"folder-{uuid.uuid4().hex[:8]}"
    tree = tmp_path / "people"
    (tree / "eileen").mkdir(parents=True)
    photos.astronaut(tree / "eileen" / "a.jpg")
    done = faceflow("enroll-folder", group, tree, "--no-progress", stack=stack)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tree / f".faceflow-enroll-{group}.json").is_file()
    again = faceflow("enroll-folder", group, tree, stack=stack)
    assert again.stdout.startswith("0 enrolled now, 1 done before, 0 failed, of 1 photos")


def test_tenants_wraps_the_gateway_admin_command(stack: Stack, tmp_path: Path) -> None:
    env = {"FACEFLOW_GATEWAY_DATA_DIR": str(stack.data_dir / "gateway")}
    listed = faceflow("tenants", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "demo" in listed.stdout.split()
    tenant = f"acme{uuid.uuid4().hex[:6]}"
    created = faceflow("tenants", "create", tenant, env=env)
    assert created.returncode == 0, created.stderr
    new_key = created.stdout.strip()
    # the new tenant's key works, and it does not see the demo tenant's groups
    with FaceflowClient(stack.url, new_key) as client:
        assert client.detect(photos.astronaut(tmp_path / "a.jpg"))["faces"]
        assert client.list_groups()["groups"] == []
    again = faceflow("tenants", "create", tenant, env=env)
    assert again.returncode == 1 and "exists" in again.stderr


def test_detect_with_attributes_prints_them_briefly(stack: Stack, tmp_path: Path) -> None:
    if "attributes" not in stack.service_names:
        pytest.skip("the attributes service is not deployed")
    done = faceflow(
        "detect",
        photos.astronaut(tmp_path / "a.jpg"),
        "--fields",
        "age,gender,emotion,pose,quality",
        stack=stack,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    for name in ("age=", "gender=", "emotion=", "pose=yaw ", "quality="):
        assert name in line, line


def test_verify_user_groups_and_users_commands(stack: Stack, tmp_path: Path) -> None:
    group = f"cli-{uuid.uuid4().hex[:8]}"
    a = photos.astronaut(tmp_path / "a.jpg")
    assert faceflow("enroll", group, "eileen", a, stack=stack).returncode == 1  # no group yet
    assert faceflow("groups", "create", group, stack=stack).returncode == 0
    enrolled = faceflow("enroll", group, "eileen", a, "--user-info", "Eileen", stack=stack)
    assert enrolled.returncode == 0, enrolled.stderr
    same = faceflow(
        "verify-user", photos.astronaut_mirrored(tmp_path / "b.jpg"), group, "eileen", stack=stack
    )
    assert same.returncode == 0 and same.stdout.startswith("SAME person"), same.stdout + same.stderr
    one = faceflow("users", group, "eileen", stack=stack)
    assert one.stdout.startswith("eileen (Eileen): 1 face(s)"), one.stdout
    listed = faceflow("groups", stack=stack)
    assert group in listed.stdout.split()
    as_json = faceflow("groups", "--json", stack=stack)  # --json after the command too
    assert group in {g["group_id"] for g in json.loads(as_json.stdout)["groups"]}
    missing_name = faceflow("groups", "delete", stack=stack)
    assert missing_name.returncode == 2 and "needs a GROUP" in missing_name.stderr
    assert faceflow("groups", "delete", group, stack=stack).returncode == 0
    gone = faceflow("users", group, stack=stack)
    assert gone.returncode == 1 and "GROUP_NOT_FOUND" in gone.stderr


def test_liveness_command(stack: Stack, tmp_path: Path) -> None:
    if "liveness" not in stack.service_names:
        pytest.skip("the liveness service is not deployed")
    done = faceflow("liveness", photos.astronaut(tmp_path / "a.jpg"), stack=stack)
    assert done.returncode == 0, done.stderr
    pattern = r"^(LIVE|SPOOF): score \d\.\d{3} \(threshold \d\.\d{3}\)$"
    assert re.match(pattern, done.stdout.strip()), done.stdout
