"""The committed generated stubs must match the protos (run `make protos` after an edit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_enum_starts_with_unspecified() -> None:
    for proto in (ROOT / "protos" / "faceflow").rglob("*.proto"):
        lines = proto.read_text().splitlines()
        for index, line in enumerate(lines):
            if line.strip().startswith("enum "):
                first = next(
                    entry
                    for entry in lines[index + 1 :]
                    if "=" in entry and not entry.strip().startswith("//")
                )
                assert "_UNSPECIFIED = 0" in first, f"{proto.name}: {line.strip()}"
