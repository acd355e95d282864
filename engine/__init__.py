"""zeroplay's engine: everything but the games (games/) and the search (mcts/)."""
import ctypes
import os
import sys

# OpenMP threads that wait at the end of a parallel region sleep instead of spinning: on a
# machine that runs anything else, a spinning torch thread takes the core its descheduled peer
# (or another process) needs. Read once, when torch loads OpenMP, so set here, before any
# engine module imports torch; spawned workers inherit it. OMP_WAIT_POLICY=ACTIVE overrides.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """Make glibc's malloc serve torch's activation buffers (a few hundred KiB, freed after
    every forward pass) from a heap it keeps, instead of mapping fresh zeroed pages for each
    and unmapping them: on a 2-core AVX2 machine that cut bare inference's page faults from
    50-85k/s to none and its kernel time from 16% to 0, and raised its rate by about a quarter
    (docs/performance.md). The price: freed memory below 1 GiB is not given back to the system
    while the process runs. Linux with glibc only; a user's MALLOC_MMAP_THRESHOLD_ or
    MALLOC_TRIM_THRESHOLD_ wins. True when set."""
    if not sys.platform.startswith("linux") or any(
            os.environ.get(k) for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, another libc)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))


keep_freed_memory()
