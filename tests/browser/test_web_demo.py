"""The web demo in a real browser: Debian's headless Chromium, driven by Playwright (node),
runs every flow against the real running stack, with a fake camera showing a real photo.

The browser side is web_demo.test.mjs (every flow) and web_demo_i18n.test.mjs (中文 / English),
run with ``node --test``; these tests prepare the photos and the camera video, start the stack
once, install what is missing (scripts/install_browser.sh) and assert that every node test passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.fake_camera import letterbox, write_y4m
from tests.clients import photos
from tests.clients.stack import Stack, running_stack
from tests.helpers import images

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real processes for the browser."""
    with running_stack(tmp_path_factory.mktemp("browser-stack")) as started:
        yield started


def ensure_browser() -> None:
    """Chromium and playwright-core, installed by the project's script when missing."""
    if shutil.which("chromium") and (HERE / "node_modules" / "playwright-core").is_dir():
        return
    subprocess.run([str(REPO_ROOT / "scripts" / "install_browser.sh")], check=True, timeout=900)


def prepare_media(folder: Path) -> dict[str, str]:
    """The photos the flows upload and the fake camera's video, as environment variables."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "FACEFLOW_PHOTO": photos.astronaut(folder / "astronaut.jpg"),
        "FACEFLOW_PHOTO_MIRRORED": photos.astronaut_mirrored(folder / "astronaut-mirrored.jpg"),
        "FACEFLOW_NO_FACE": photos.no_face(folder / "no-face.jpg"),
        "FACEFLOW_NOT_IMAGE": photos.not_an_image(folder / "not-an-image.jpg"),
        "FACEFLOW_CAMERA_VIDEO": write_y4m(letterbox(images.astronaut()), folder / "camera.y4m"),
    }
    return {name: str(path) for name, path in files.items()}


def run_node_tests(script: str, stack: Stack, folder: Path) -> str:
    """Run one node test file against the stack; its report, asserted to have passed."""
    ensure_browser()
    env = {
        **os.environ,
        **prepare_media(folder / "media"),
        "FACEFLOW_URL": stack.url,
        "FACEFLOW_API_KEY": stack.api_key,
        "FACEFLOW_PROFILE_DIR": str(folder / "profile"),
        "FACEFLOW_ARTIFACTS": str(folder / "artifacts"),
    }
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", script],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "ℹ fail 0" in report and "ℹ pass 0" not in report, report
    return report


def test_every_flow_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    report = run_node_tests("web_demo.test.mjs", stack, tmp_path)
    if {"attributes", "liveness"} <= stack.service_names:
        assert "ℹ skipped 0" in report, report


def test_languages_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    """中文 / English: browser locale default, the remembered switch, translated API errors.
    FACEFLOW_SCREENSHOT_DIR=docs/img (absolute) also rewrites the docs screenshots."""
    report = run_node_tests("web_demo_i18n.test.mjs", stack, tmp_path)
    assert "ℹ skipped 0" in report, report
