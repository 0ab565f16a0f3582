"""`ekc_core.memory.release_memory` hands a big job's freed heap back to the system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ekc_core.memory import _malloc_trim, release_memory


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(_malloc_trim() is None, reason="not glibc: nothing to trim")
def test_freed_heap_goes_back_to_the_system() -> None:
    # 4 KB strings come from malloc's heap (pymalloc takes only up to 512 bytes); a small
    # survivor after each keeps free() from shrinking the heap: the freed pages stay
    # resident until trimmed, as after a rebuild
    job: list[bytes] = []
    keep: list[bytes] = []
    for i in range(30_000):
        job.append(bytes(4000) + str(i).encode())
        keep.append(bytes(600) + str(i).encode())
    grown = _rss_mb()
    del job
    freed = _rss_mb()
    release_memory()
    trimmed = _rss_mb()
    assert keep
    assert freed - trimmed > 0.5 * (grown - trimmed), (grown, freed, trimmed)
