"""Generate the TypeScript types of the HTTP API from the gateway's OpenAPI document.

The document is the app's own (``create_app().openapi()``, what ``GET /openapi.json`` serves),
built without starting any service; the generator is openapi-typescript, pinned with
typescript in clients/typescript/package-lock.json (installed first by
``scripts/npm_ci.sh clients/typescript`` when missing). The result is written to
clients/typescript/faceflow-api.d.ts, which the mini-program's and the web demo's API modules
import in JSDoc (only tsc reads it).

``--check`` regenerates into a temporary folder and exits non-zero when a committed copy
differs (used by tests/clients/test_api_types.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL_DIR = ROOT / "clients" / "typescript"
GENERATOR = TOOL_DIR / "node_modules" / ".bin" / "openapi-typescript"
INSTALL = ROOT / "scripts" / "npm_ci.sh"
FILE_NAME = "faceflow-api.d.ts"
OUTPUTS = (TOOL_DIR / FILE_NAME,)
COMMAND = "python scripts/gen_api_types.py"


def openapi_json() -> str:
    """The gateway's OpenAPI document as JSON (the app is built, not started)."""
    sys.path.insert(0, str(ROOT))
    from gateway.main import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def generate() -> str:
    """The text of faceflow-api.d.ts for the current app."""
    subprocess.run(["bash", str(INSTALL), "clients/typescript"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        document = Path(tmp) / "openapi.json"
        output = Path(tmp) / FILE_NAME
        document.write_text(openapi_json(), encoding="utf-8")
        done = subprocess.run(
            [str(GENERATOR), str(document), "--output", str(output)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"openapi-typescript failed:\n{done.stdout}{done.stderr}")
        return output.read_text(encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if a committed copy is not what the app gives"
    )
    options = parser.parse_args()
    text = generate()
    if options.check:
        stale = [
            str(path.relative_to(ROOT))
            for path in OUTPUTS
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        if stale:
            sys.stderr.write(
                "the API types do not match the gateway's OpenAPI document, "
                f"run `{COMMAND}`: " + ", ".join(stale) + "\n"
            )
            return 1
        return 0
    for path in OUTPUTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader (tsc, an editor) never sees half a file
    return 0


if __name__ == "__main__":
    sys.exit(main())
