"""The TypeScript types of the HTTP API (clients/typescript/faceflow-api.d.ts) and the clients
that import them.

- The committed file is what openapi-typescript makes of the gateway's OpenAPI document now
  (run `python scripts/gen_api_types.py` after changing a route or a schema).
- tsc (--allowJs --checkJs, strict) passes over the mini-program's and the web demo's API modules
  and the flows that read the results, and fails when a field they read leaves the contract.

The npm tools come from clients/typescript/package-lock.json (scripts/npm_ci.sh clients/typescript,
`npm ci`), so `make test` installs them on a clean clone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_DIR = REPO_ROOT / "clients" / "typescript"
TSC = TOOL_DIR / "node_modules" / ".bin" / "tsc"
TYPES = "faceflow-api.d.ts"
# tsconfig -> the client folder whose JS it checks, repo-relative.
CONFIGS = {
    "tsconfig.miniprogram.json": "miniprogram/utils",
    "tsconfig.web.json": "gateway/static/js",
}


@pytest.fixture(scope="module", autouse=True)
def npm_tools() -> None:
    """openapi-typescript and typescript at the versions of the lock file."""
    if shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the API types (apt-get install -y nodejs npm)")
    subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "npm_ci.sh"), "clients/typescript"],
        check=True,
        timeout=600,
    )


def tsc(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TSC), "--pretty", "false", "-p", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_committed_types_match_the_gateway_openapi_document() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_api_types.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_clients_type_check_against_the_api_types(config: str) -> None:
    done = tsc(TOOL_DIR / config)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("config", "field", "declaration"),
    [
        # checkIdentity (miniprogram/utils/flows.js) reads VerifyFacesOut.same_person.
        ("tsconfig.miniprogram.json", "same_person", "same_person: boolean;"),
        # search() (gateway/static/js/flows.js) reads SearchOut.gallery_size.
        ("tsconfig.web.json", "gallery_size", "gallery_size: number;"),
        # attributeText (gateway/static/js/draw.js) reads EmotionOut.dominant.
        ("tsconfig.web.json", "dominant", "dominant: string;"),
    ],
)
def test_type_check_fails_when_a_field_a_client_reads_is_renamed(
    tmp_path: Path, config: str, field: str, declaration: str
) -> None:
    """The same check on a copy whose types call the field something else must fail there."""
    shutil.copytree(REPO_ROOT / CONFIGS[config], tmp_path / CONFIGS[config])
    copied_config = tmp_path / "clients" / "typescript" / config
    copied_config.parent.mkdir(parents=True)
    shutil.copy(TOOL_DIR / config, copied_config)
    types_file = copied_config.parent / TYPES
    shutil.copy(TOOL_DIR / TYPES, types_file)
    text = types_file.read_text(encoding="utf-8")
    assert declaration in text, f"{declaration} is no longer in {TYPES}: pick another field"
    types_file.write_text(text.replace(declaration, f"renamed_{declaration}"), encoding="utf-8")

    done = tsc(copied_config)

    assert done.returncode != 0, done.stdout
    # "Property 'same_person' does not exist on type ..." or "Argument of type '"dominant"' ..."
    assert re.search(rf"error TS\d+: .*'\"?{field}\"?'", done.stdout), done.stdout
