"""What made a training run: its command line, its data file, the repository commit.

A recipe writes the record into its run folder (``provenance.json``) when the run starts; the
export copies it into the model's manifest (``trained_command``, ``trained_data``,
``trained_commit``), so a served model says where it came from.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from services.shared.model_store.hashing import sha256_file

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
        "data": f"{data} (sha256 {sha256_file(Path(data))}; faces from {cache_source(data)})",
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


def run_dir_of(checkpoint: Path) -> Path:
    """The run folder of a checkpoint argument: the folder itself, or the one holding
    ``checkpoints/<name>.keras`` (a .keras elsewhere has no recorded provenance)."""
    checkpoint = Path(checkpoint)
    return checkpoint if checkpoint.is_dir() else checkpoint.parent.parent
