"""Keep a service's large per-request buffers in the heap instead of fresh mmaps.

A model service allocates the same big buffers on every request: a decoded 1080p photo is an
8 MB Pillow image and a 6 MB array. With glibc's defaults the launched detection process took
~3,100 minor page faults per 1080p ``Detect`` (~10 ms on a 2-core VM): those buffers were mapped
and faulted in afresh each time, while the same servicer inside a longer-lived benchmark
process took almost none. Fixed mmap and trim thresholds keep such buffers in the heap for
reuse, and one malloc arena for all threads removes most of the faults the thresholds alone
leave (docs/decisions.md; ``bench/detection.py`` and ``tests/e2e/test_service_memory.py``
count them with ``minor_page_faults``).

``mallopt`` is glibc's; elsewhere (musl, macOS) ``tune_malloc`` logs and changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

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


def minor_page_faults(pid: int | None = None) -> int:
    """The minor page faults process ``pid`` (default: this one) has taken so far (Linux)."""
    stat = Path(f"/proc/{pid or os.getpid()}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[7])  # field 10, counted after "pid (comm)"
