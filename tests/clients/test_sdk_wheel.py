"""The SDK as its own package: the wheel ``pip wheel ./faceflow_sdk`` builds installs into a
fresh virtual environment (with nothing of the server) and gives a working ``faceflow``
command, which runs a real detection against the real stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.clients import photos
from tests.clients.stack import Stack

pytestmark = pytest.mark.e2e
REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the SDK wheel (and its HTTP client) installed; its bin folder."""
    work = tmp_path_factory.mktemp("sdk-wheel")
    source = work / "faceflow_sdk"
    shutil.copytree(
        REPO_ROOT / "faceflow_sdk",
        source,
        ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"),
    )
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        work / "dist",
        source,
        cwd=work,
    )
    wheels = sorted((work / "dist").glob("faceflow_sdk-*.whl"))
    assert len(wheels) == 1
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    run(bin_dir / "python", "-m", "pip", "install", "-q", wheels[0], cwd=work)
    return bin_dir


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACEFLOW_", "PYTHON"))}
    env.update(extra)
    return env


def test_the_wheel_holds_only_the_client(installed: Path, tmp_path: Path) -> None:
    found = run(
        installed / "python",
        "-c",
        "import importlib.util as u; print([n for n in ('faceflow_sdk', 'gateway', 'services',"
        " 'numpy', 'grpc') if u.find_spec(n)])",
        cwd=tmp_path,
        env=clean_env(),
    )
    assert found.strip() == "['faceflow_sdk']"
    assert "detect" in run(installed / "faceflow", "--help", cwd=tmp_path, env=clean_env())


def test_the_installed_command_detects_through_the_stack(
    installed: Path, stack: Stack, tmp_path: Path
) -> None:
    photo = photos.astronaut(tmp_path / "astronaut.jpg")
    env = clean_env(FACEFLOW_URL=stack.url, FACEFLOW_API_KEY=stack.api_key)
    out = run(installed / "faceflow", "detect", photo, "--json", cwd=tmp_path, env=env)
    faces = json.loads(out)["faces"]
    assert len(faces) == 1 and set(faces[0]["landmarks"]) >= {"left_eye", "right_eye"}
