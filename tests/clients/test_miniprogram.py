"""The WeChat mini-program (miniprogram/) against the real running gateway, with node's test runner.

- test/api.test.js: the API module and flows (miniprogram/utils); test/wx-adapter.js stands in
  for wx.request/wx.uploadFile with node's fetch.
- test/pages.test.js: the pages rendered as WeChat runs them by miniprogram-simulate (WXML
  compiled by WeChat's wcc, WXSS, page JS), tapped and typed into, their texts and colours
  checked; its npm packages come from miniprogram/test/package-lock.json
  (scripts/npm_ci.sh miniprogram/test, `npm ci`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients import photos
from tests.clients.stack import Stack
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]
MINIPROGRAM = REPO_ROOT / "miniprogram"


def node_test(test_file: str, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    """Run one node test file of miniprogram/test; its report, asserted to have no failure."""
    if shutil.which("node") is None:
        pytest.fail("node is needed for the mini-program tests (apt-get install -y nodejs)")
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", f"test/{test_file}"],
        cwd=MINIPROGRAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0 and "ℹ fail 0" in report and "ℹ pass 0" not in report, report
    return report


def run_node_tests(test_file: str, stack: Stack, media: Path) -> None:
    """Run one node test file of miniprogram/test against the stack; assert that all passed."""
    other_person = SHARED_DATA / "photos" / "people" / "obama" / "obama2.jpg"
    if not other_person.is_file():
        pytest.skip(f"{other_person} is absent (a real photo of someone who is not the astronaut)")
    env = {
        **os.environ,
        "FACEFLOW_URL": stack.url,
        "FACEFLOW_API_KEY": stack.api_key,
        "FACEFLOW_SERVICES": ",".join(sorted(stack.service_names)),
        "FACEFLOW_PHOTO": str(photos.astronaut(media / "astronaut.jpg")),
        "FACEFLOW_PHOTO_MIRRORED": str(photos.astronaut_mirrored(media / "mirrored.jpg")),
        "FACEFLOW_NO_FACE": str(photos.no_face(media / "no-face.jpg")),
        "FACEFLOW_NOT_IMAGE": str(photos.not_an_image(media / "not-an-image.jpg")),
        "FACEFLOW_OTHER_PERSON": str(other_person),
    }
    report = node_test(test_file, env)
    if {"attributes", "liveness"} <= stack.service_names:
        assert "ℹ skipped 0" in report, report


@pytest.mark.parametrize(
    ("test_file", "tests"),
    [("camera.test.js", 6), ("errors.test.js", 4)],
    ids=["camera-sampling", "error-messages"],
)
def test_miniprogram_modules_without_a_server(test_file: str, tests: int) -> None:
    """test/camera.test.js (the blink step's frame sampling, utils/camera.js) and
    test/errors.test.js (the messages of utils/errors.js): no server needed."""
    report = node_test(test_file, timeout=120)
    assert f"ℹ pass {tests}" in report, report


def test_miniprogram_api_module_against_the_real_gateway(stack: Stack, tmp_path: Path) -> None:
    run_node_tests("api.test.js", stack, tmp_path)


def test_miniprogram_pages_in_miniprogram_simulate_against_the_real_gateway(
    stack: Stack, tmp_path: Path
) -> None:
    subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "npm_ci.sh"), "miniprogram/test"],
        check=True,
        timeout=600,
    )
    run_node_tests("pages.test.js", stack, tmp_path)
