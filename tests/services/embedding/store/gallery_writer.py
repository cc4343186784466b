"""A child process for the SQLite+FAISS crash tests: enrolls faces, then dies without closing.

    python gallery_writer.py stream FOLDER SAVE_EVERY
        enroll faces i = 0, 1, 2, ... for users u<i> in group "g" of tenant "t" forever,
        printing "<i> <face_token>" after each acknowledged enroll (the parent kills it -9);
    python gallery_writer.py batch FOLDER START COUNT [USER_TO_DELETE ...]
        enroll faces START..START+COUNT-1, delete the named users, then exit at once without
        saving the index (as a crash would), printing "done".
Face i's embedding is unit_vector(i) below (the tests compute the same).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys

import numpy as np
from numpy.typing import NDArray

from services.embedding.store.sqlite_faiss import SqliteFaissStore

DIMENSION = 128


def unit_vector(index: int) -> NDArray[np.float32]:
    """The embedding of face ``index``."""
    vector = np.random.default_rng(index).normal(size=DIMENSION).astype(np.float32)
    unit: NDArray[np.float32] = vector / np.linalg.norm(vector)
    return unit


def enroll(store: SqliteFaissStore, index: int) -> str:
    """Enroll face ``index`` for user ``u<index>``; its face token."""
    sha = hashlib.sha256(str(index).encode()).hexdigest()
    return store.add_face("t", "g", f"u{index}", unit_vector(index), sha).face_token


def main(argv: list[str]) -> None:
    mode, folder = argv[0], argv[1]
    if mode == "stream":
        store = SqliteFaissStore(folder, DIMENSION, save_every=int(argv[2]))
        groups = store.list_groups("t")
        if not groups:
            store.create_group("t", "g")
        # one face per user u<i>, i contiguous: carry on after what an earlier run committed
        for index in itertools.count(groups[0].face_count if groups else 0):
            token = enroll(store, index)
            sys.stdout.write(f"{index} {token}\n")
            sys.stdout.flush()
    elif mode == "batch":
        store = SqliteFaissStore(folder, DIMENSION, save_every=1_000_000)
        if not store.list_groups("t"):
            store.create_group("t", "g")
        start, count = int(argv[2]), int(argv[3])
        for index in range(start, start + count):
            enroll(store, index)
        for user in argv[4:]:
            store.delete_user("t", "g", user)
        sys.stdout.write("done\n")
        sys.stdout.flush()
        os._exit(0)  # no close(): the index is not saved, as after a crash
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
