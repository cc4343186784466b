"""The WeChat mini-program's API module and flows (miniprogram/utils), run by node's test runner
against the real running gateway; test/wx-adapter.js stands in for wx.request/wx.uploadFile."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients import photos
from tests.clients.stack import Stack

pytestmark = pytest.mark.e2e
MINIPROGRAM = Path(__file__).resolve().parents[2] / "miniprogram"


def test_miniprogram_api_module_against_the_real_gateway(stack: Stack, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.fail("node is needed for the mini-program tests (apt-get install -y nodejs)")
    env = {
        **os.environ,
        "FACEFLOW_URL": stack.url,
        "FACEFLOW_API_KEY": stack.api_key,
        "FACEFLOW_SERVICES": ",".join(sorted(stack.service_names)),
        "FACEFLOW_PHOTO": str(photos.astronaut(tmp_path / "astronaut.jpg")),
        "FACEFLOW_PHOTO_MIRRORED": str(photos.astronaut_mirrored(tmp_path / "mirrored.jpg")),
        "FACEFLOW_NO_FACE": str(photos.no_face(tmp_path / "no-face.jpg")),
        "FACEFLOW_NOT_IMAGE": str(photos.not_an_image(tmp_path / "not-an-image.jpg")),
    }
    done = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "test/"],
        cwd=MINIPROGRAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "ℹ fail 0" in report and "ℹ pass 0" not in report, report
    if {"attributes", "liveness"} <= stack.service_names:
        assert "ℹ skipped 0" in report, report
