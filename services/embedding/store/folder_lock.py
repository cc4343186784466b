"""One process per data folder: an exclusive ``flock`` on a lock file in it, held until close.

The embedded store keeps its FAISS indexes in memory and saves them from one process; a second
process writing the same folder would corrupt them, so it is refused (``StoreLockedError``).
The kernel drops the lock when the process dies, so a crash never leaves the folder locked.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from services.embedding.store.errors import StoreLockedError


class FolderLock:
    """The exclusive lock on one data folder."""

    def __init__(self, path: Path) -> None:
        """Take the lock at ``path``; ``StoreLockedError`` when another process holds it."""
        handle: IO[str] = open(path, "a+")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StoreLockedError(
                f"gallery folder {path.parent} is open in another process"
            ) from exc
        self._handle = handle

    def release(self) -> None:
        """Let another process open the folder."""
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
