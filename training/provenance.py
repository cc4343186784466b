"""What made a training run: its command line, its data file, the repository commit.

A recipe writes the record into its run folder (``provenance.json``) when the run starts; the
export copies it into the model's manifest (``trained_command``, ``trained_data``,
``trained_commit``), so a served model says where it came from.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np

RECORD = "provenance.json"
NO_COMMAND = "train() called from Python (no command line)"


def _git(*args: str) -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_source(path: Path) -> str:
    """The image folder an ``.npz`` input cache was cut from (its ``source`` entry)."""
    with np.load(path) as data:
        return str(data["source"]) if "source" in data.files else "unrecorded"


def run_provenance(command: str | None, data: Path) -> dict[str, str]:
    """The command line, the data cache (path, sha256, the folder it was cut from) and the
    commit (``+ uncommitted changes`` when the tree was dirty)."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    if _git("status", "--porcelain"):
        commit += " + uncommitted changes"
    return {
        "command": command or NO_COMMAND,
        "data": f"{data} (sha256 {sha256_of(data)}; faces from {cache_source(data)})",
        "commit": commit,
    }


def write_provenance(run_dir: Path, record: dict[str, str]) -> None:
    """Keep the record in the run folder."""
    (Path(run_dir) / RECORD).write_text(json.dumps(record, indent=2))


def read_provenance(run_dir: Path) -> dict[str, str]:
    """The provenance a run recorded (empty for a checkpoint outside a run folder)."""
    path = Path(run_dir) / RECORD
    if not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text())
    return data
