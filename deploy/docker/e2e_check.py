"""The HTTP checks scripts/docker_e2e.sh runs against the published gateway port.

``python -m deploy.docker.e2e_check --url URL --key KEY PHASE`` with PHASE one of:

- ``wait``: poll ``/readyz`` until 200 (every service SERVING) or the timeout;
- ``before``: ``/healthz``, ``/readyz``, ``/detect`` on a real photo (one face with landmarks),
  a missing key (401 UNAUTHENTICATED) and a broken image (400 INVALID_IMAGE); when the gateway
  serves the gallery (its OpenAPI lists ``/api/v1/groups``), create a group, enroll the photo
  and search it with a mirrored copy (the enrolled user must be the best match);
- ``after``: after the embedding container restarted, the same search must still find the user;
- ``replicas`` (``--kill CONTAINER``): with several gateway replicas behind the proxy, requests
  reach more than one of them (``x-faceflow-instance``), a face enrolled through one replica is
  found through another, and while 4 clients enroll, the container ``--kill`` names (a gateway
  replica) is killed: afterwards every enrollment that was answered 200 is in the gallery.

The photo is scikit-image's astronaut (Eileen Collins), written to a temporary file by the
caller or read from ``--photo``. Exit status 0 when every check passed; each failure is one
line on stderr.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps

API = "/api/v1"
GROUP = "e2e-docker"
USER = "eileen-collins"


class CheckFailedError(AssertionError):
    """One expectation about a response did not hold."""


@dataclass
class Checker:
    """Runs named checks against the gateway and records what passed."""

    client: httpx.Client
    key: str
    passed: list[str] = field(default_factory=list)

    def expect(
        self, name: str, response: httpx.Response, status: int | tuple[int, ...], code: str = ""
    ) -> Any:
        """Assert the status (one of them) and error code; returns the JSON body."""
        wanted = status if isinstance(status, tuple) else (status,)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code not in wanted:
            raise CheckFailedError(
                f"{name}: HTTP {response.status_code} (want {status}): {response.text[:300]}"
            )
        if code:
            got = body.get("error", {}).get("code") if isinstance(body, dict) else None
            if got != code:
                raise CheckFailedError(f"{name}: error code {got!r} (want {code!r})")
        self.passed.append(name)
        return body

    @property
    def headers(self) -> dict[str, str]:
        """The API key header."""
        return {"x-api-key": self.key}

    def post_image(self, path: str, image: bytes, **data: str) -> httpx.Response:
        """POST a multipart image with form fields."""
        files = {"image": ("photo.jpg", image, "image/jpeg")}
        return self.client.post(API + path, files=files, data=data, headers=self.headers)


def jpeg(image: Image.Image) -> bytes:
    """JPEG bytes of an image."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def wait_ready(client: httpx.Client, timeout: float) -> None:
    """Poll /readyz until 200."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = client.get("/readyz")
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as error:
            last = str(error)
        time.sleep(1.0)
    raise CheckFailedError(f"/readyz not 200 after {timeout:.0f} s: {last}")


def has_gallery(client: httpx.Client) -> bool:
    """Whether this gateway serves the gallery endpoints (embedding deployed)."""
    paths = client.get("/openapi.json").json().get("paths", {})
    return f"{API}/groups" in paths and f"{API}/search" in paths


def search_finds_user(checker: Checker, photo: Image.Image, name: str) -> None:
    """Search with a mirrored copy of the photo; the enrolled user must be the best match."""
    body = checker.expect(
        name, checker.post_image("/search", jpeg(ImageOps.mirror(photo)), group_ids=GROUP), 200
    )
    faces = body.get("faces") or []
    matches = faces[0].get("matches", []) if faces else []
    if not matches or matches[0].get("user_id") != USER:
        raise CheckFailedError(f"{name}: best match is not {USER}: {body}")


def before(checker: Checker, photo: Image.Image) -> None:
    """Health, detection, error paths and (when deployed) enroll + search."""
    client = checker.client
    checker.expect("healthz", client.get("/healthz"), 200)
    checker.expect("readyz", client.get("/readyz"), 200)
    # the proxy keeps the gateway's unauthenticated /metrics off the public port
    checker.expect("metrics not public", client.get("/metrics"), 404)
    body = checker.expect("detect", checker.post_image("/detect", jpeg(photo)), 200)
    faces = body.get("faces") or []
    if len(faces) != 1 or "landmarks" not in faces[0]:
        raise CheckFailedError(f"detect: want one face with landmarks, got {faces}")
    files = {"image": ("photo.jpg", jpeg(photo), "image/jpeg")}
    checker.expect(
        "detect without key", client.post(f"{API}/detect", files=files), 401, "UNAUTHENTICATED"
    )
    checker.expect(
        "detect broken image", checker.post_image("/detect", b"not an image"), 400, "INVALID_IMAGE"
    )
    if not has_gallery(client):
        sys.stdout.write("e2e_check: no gallery endpoints in this gateway: enroll/search skipped\n")
        return
    checker.expect(
        "create group",
        client.post(f"{API}/groups", json={"group_id": GROUP}, headers=checker.headers),
        (200, 201),
    )
    enroll = checker.post_image(f"/groups/{GROUP}/users/{USER}/faces", jpeg(photo))
    checker.expect("enroll", enroll, (200, 201))
    search_finds_user(checker, photo, "search")


def after(checker: Checker, photo: Image.Image) -> None:
    """The gallery survived the embedding container's restart."""
    if not has_gallery(checker.client):
        sys.stdout.write("e2e_check: no gallery endpoints: nothing to check after the restart\n")
        return
    search_finds_user(checker, photo, "search after restart")


def instance(response: httpx.Response) -> str:
    """The gateway replica that answered."""
    return str(response.headers.get("x-faceflow-instance", ""))


def replicas(checker: Checker, photo: Image.Image, kill: str) -> None:
    """Several replicas answer, share the gallery, and losing one loses no enrolled face."""
    seen = {instance(checker.client.get("/healthz")) for _ in range(20)}
    if len(seen - {""}) < 2:
        raise CheckFailedError(f"replicas: 20 requests reached {sorted(seen)}, want 2 or more")
    checker.passed.append(f"requests reach {len(seen)} gateways")
    enrolled = checker.post_image(f"/groups/{GROUP}/users/cross-replica/faces", jpeg(photo))
    checker.expect("enroll for the cross-replica search", enrolled, (200, 201))
    for _ in range(20):
        found = checker.post_image("/search", jpeg(ImageOps.mirror(photo)), group_ids=GROUP)
        body = checker.expect("search through the proxy", found, 200)
        if instance(found) != instance(enrolled):
            users = {m["user_id"] for f in body["faces"] for m in f["matches"]}
            if "cross-replica" not in users:
                raise CheckFailedError(f"replica {instance(found)} does not find the face")
            checker.passed.append("a face enrolled through one gateway is found through another")
            break
    else:
        raise CheckFailedError("every search went to the replica that enrolled")
    acknowledged, statuses = enroll_while_killing(checker, photo, kill)
    missing = [
        user
        for user in acknowledged
        if checker.client.get(
            f"{API}/groups/{GROUP}/users/{user}", headers=checker.headers
        ).status_code
        != 200
    ]
    if missing or not acknowledged:
        raise CheckFailedError(
            f"failover: {len(missing)} of {len(acknowledged)} acknowledged faces lost {missing}"
        )
    checker.passed.append(
        f"gateway killed under load: statuses {statuses}, {len(acknowledged)} faces, 0 lost"
    )


def enroll_while_killing(
    checker: Checker, photo: Image.Image, kill: str
) -> tuple[list[str], dict[int, int]]:
    """4 clients enroll for ~8 s; the container ``kill`` is killed 2 s in."""
    acknowledged: list[str] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    url = str(checker.client.base_url)

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=30.0) as http:
            step = 0
            while not stop.is_set():
                user = f"load-{number}-{step}"
                # A pixel per user: distinct bytes, the same face.
                image = photo.copy()
                image.putpixel((0, 0), (number, step % 256, step // 256))
                try:
                    response = http.post(
                        f"{API}/groups/{GROUP}/users/{user}/faces",
                        files={"image": ("p.png", png(image), "image/png")},
                        headers=checker.headers,
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        acknowledged.append(user)
                step += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    subprocess.run(["docker", "kill", kill], check=True, capture_output=True)
    time.sleep(6.0)
    stop.set()
    for thread in threads:
        thread.join()
    return acknowledged, dict(sorted(statuses.items()))


def png(image: Image.Image) -> bytes:
    """PNG bytes (lossless: the marking pixel survives)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def load_photo(path: Path | None) -> Image.Image:
    """The test photo: --photo, else scikit-image's astronaut."""
    if path is not None:
        return Image.open(path).convert("RGB")
    from skimage import data

    return Image.fromarray(data.astronaut())  # type: ignore[no-untyped-call]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.docker.e2e_check")
    parser.add_argument("phase", choices=["wait", "before", "after", "replicas"])
    parser.add_argument("--url", required=True, help="the gateway, e.g. http://127.0.0.1:18080")
    parser.add_argument("--key", default="", help="an API key of a tenant")
    parser.add_argument("--photo", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--kill", default="", help="replicas: the gateway container to kill")
    options = parser.parse_args(argv)
    checker = Checker(httpx.Client(base_url=options.url, timeout=60.0), options.key)
    try:
        if options.phase == "wait":
            wait_ready(checker.client, options.timeout)
            checker.passed.append("ready")
        elif options.phase == "before":
            before(checker, load_photo(options.photo))
        elif options.phase == "replicas":
            replicas(checker, load_photo(options.photo), options.kill)
        else:
            after(checker, load_photo(options.photo))
    except (CheckFailedError, httpx.HTTPError) as error:
        sys.stderr.write(f"e2e_check FAILED: {error}\n")
        return 1
    finally:
        checker.client.close()
    sys.stdout.write(f"e2e_check {options.phase}: passed {', '.join(checker.passed)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
