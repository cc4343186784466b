"""Keep a service's large per-request buffers in the heap instead of fresh mmaps.

A model service allocates the same big buffers on every request: a decoded 1080p photo is an
8 MB Pillow image and a 6 MB array. glibc serves allocations at or above its mmap threshold
with a fresh ``mmap`` and unmaps them on ``free``; its dynamic threshold only rises above a
size after a *larger* block was freed, so same-sized buffers are mapped anew, and every page of
them faulted in and zeroed, on every request: ~3,100 minor faults per 1080p ``Detect`` in the
launched detection process, ~10 ms on a 2-core VM, against none when the dynamic threshold had
already risen (docs/detection.md). Raising the mmap and trim thresholds keeps those buffers in
the heap for reuse, and capping the number of malloc arenas stops each gRPC worker thread from
trimming a heap of its own.

``mallopt`` is glibc's; elsewhere (musl, macOS) ``tune_malloc`` logs and changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

# glibc's <malloc.h> parameter numbers
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MIB = 1024 * 1024


@dataclass(frozen=True)
class MallocTuning:
    """Values for glibc's allocator; 0 leaves a parameter at glibc's default."""

    mmap_threshold: int = 32 * MIB  # glibc caps a static threshold at 32 MiB on 64-bit
    trim_threshold: int = 128 * MIB
    arena_max: int = 1


def tune_malloc(tuning: MallocTuning) -> bool:
    """Apply ``tuning`` with ``mallopt``; True when every non-zero value was accepted."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.info("no glibc mallopt here: malloc left at its defaults")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    wanted = (
        (M_MMAP_THRESHOLD, tuning.mmap_threshold),
        (M_TRIM_THRESHOLD, tuning.trim_threshold),
        (M_ARENA_MAX, tuning.arena_max),
    )
    accepted = all(mallopt(param, value) == 1 for param, value in wanted if value > 0)
    if not accepted:
        log.warning("mallopt refused part of %s", tuning)
    return accepted
