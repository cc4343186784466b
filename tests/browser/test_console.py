"""The web demo's gallery console in Debian's headless Chromium (Playwright, console.test.mjs)
against the real detection and embedding services and gateway: groups, paged users, faces with
thumbnails (the demo tenant turns them on with ``python -m gateway.tenants thumbnails demo on``
after one face was enrolled without), deleting with a confirmation accepted and dismissed, and
enrolling a dropped set of photos and a chosen folder with subfolders, with the progress bar.

``FACEFLOW_SCREENSHOT_DIR=$PWD/docs/img`` also rewrites docs/img/console-{zh,en}.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.test_web_demo import HERE, REPO_ROOT, ensure_browser
from tests.clients import photos
from tests.clients.stack import Stack, running_stack

pytestmark = pytest.mark.e2e
GROUP = "console-demo"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Detection, embedding and the gateway: all the console needs."""
    with running_stack(
        tmp_path_factory.mktemp("console-stack"), services=["detection", "embedding"]
    ) as started:
        yield started


def thumbnails(stack: Stack, setting: str) -> None:
    """The operator's command, on the stack's gateway database."""
    subprocess.run(
        [sys.executable, "-m", "gateway.tenants", "thumbnails", "demo", setting],
        env={**os.environ, "FACEFLOW_GATEWAY_DATA_DIR": str(stack.data_dir / "gateway")},
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )


def folder_with_subfolders(root: Path) -> Path:
    """root/alice/{1,2}.jpg, root/bob/1.jpg (one person per subfolder) and root/carol.jpg."""
    (root / "alice").mkdir(parents=True)
    (root / "bob").mkdir()
    photos.astronaut(root / "alice" / "1.jpg")
    photos.astronaut_mirrored(root / "alice" / "2.jpg")
    photos.astronaut(root / "bob" / "1.jpg")
    photos.astronaut_mirrored(root / "carol.jpg")
    return root


def test_gallery_console_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    ensure_browser()
    media = tmp_path / "media"
    media.mkdir()
    photo = photos.astronaut(media / "astronaut.jpg")
    headers = {"x-api-key": stack.api_key}
    with httpx.Client(base_url=f"{stack.url}/api/v1", headers=headers, timeout=60) as api:
        assert api.post("/groups", json={"group_id": GROUP}).status_code == 200
        enrolled = api.post(
            f"/groups/{GROUP}/users/aaron/faces",
            files={"image": ("a.jpg", photo.read_bytes(), "image/jpeg")},
        )
        assert enrolled.status_code == 200, enrolled.text
    thumbnails(stack, "on")  # aaron's face stays without one
    env = {
        **os.environ,
        "FACEFLOW_URL": stack.url,
        "FACEFLOW_API_KEY": stack.api_key,
        "FACEFLOW_GROUP": GROUP,
        "FACEFLOW_PHOTO": str(photo),
        "FACEFLOW_NO_FACE": str(photos.no_face(media / "no-face.jpg")),
        "FACEFLOW_FOLDER": str(folder_with_subfolders(media / "team")),
        "FACEFLOW_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "console.test.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "ℹ fail 0" in report and "ℹ pass 0" not in report and "ℹ skipped 0" in report, report
