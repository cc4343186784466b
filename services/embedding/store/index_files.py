"""The persisted FAISS indexes of a SQLite+FAISS store: one file per group plus a manifest.

A save writes each changed group to a new file named with a fresh generation number, then the
manifest (``index/manifest.json``: dimension, the highest change-log sequence the files cover,
and per group its file, kind, size and tombstones), each written to a temporary file, fsynced
and renamed. A crash at any point leaves the previous manifest pointing at complete files.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class IndexFileError(Exception):
    """A manifest or index file is missing, unreadable or does not match the manifest."""


@dataclass
class SavedGroup:
    """Where one group's index lies and what it held when saved."""

    file: str
    kind: str
    ntotal: int
    size: int
    tombstones: list[int] = field(default_factory=list)


@dataclass
class Manifest:
    """What the saved index files cover."""

    dimension: int
    seq: int
    generation: int
    groups: dict[int, SavedGroup] = field(default_factory=dict)


class IndexFolder:
    """Reads and writes the index files of one store folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """Absolute path of a file in the folder."""
        return self.folder / name

    def read_manifest(self) -> Manifest | None:
        """The saved manifest, or None when the index was never saved."""
        path = self.path(MANIFEST_NAME)
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
            if raw.get("version") != MANIFEST_VERSION:
                raise IndexFileError(f"unknown index manifest version {raw.get('version')!r}")
            groups = {int(pk): SavedGroup(**entry) for pk, entry in raw["groups"].items()}
            manifest = Manifest(int(raw["dimension"]), int(raw["seq"]), int(raw["generation"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexFileError(f"index manifest unreadable: {exc}") from exc
        manifest.groups = groups
        for saved in groups.values():
            file = self.path(saved.file)
            if not file.exists() or file.stat().st_size != saved.size:
                raise IndexFileError(f"index file {saved.file} is missing or has the wrong size")
        return manifest

    def write_manifest(self, manifest: Manifest) -> None:
        """Atomically replace the manifest."""
        body = asdict(manifest)
        body["version"] = MANIFEST_VERSION
        body["groups"] = {str(pk): entry for pk, entry in body["groups"].items()}
        self._write_atomic(MANIFEST_NAME, json.dumps(body, indent=1).encode())

    def temp_path(self, name: str) -> Path:
        """Where to write a file before ``commit_file`` renames it into place."""
        return self.path(name + ".tmp")

    def commit_file(self, name: str) -> int:
        """Fsync a file written at ``temp_path(name)``, rename it to ``name``; its size."""
        temp = self.temp_path(name)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, self.path(name))
        self._fsync_folder()
        return self.path(name).stat().st_size

    def remove_unreferenced(self, manifest: Manifest) -> None:
        """Delete index files the manifest no longer names (older generations, deleted groups)."""
        keep = {saved.file for saved in manifest.groups.values()} | {MANIFEST_NAME}
        for entry in self.folder.iterdir():
            if entry.name not in keep and entry.name.endswith((".faiss", ".tmp")):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()

    def _write_atomic(self, name: str, data: bytes) -> None:
        temp = self.temp_path(name)
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path(name))
        self._fsync_folder()

    def _fsync_folder(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
