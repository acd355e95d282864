"""numba's on-disk cache for the search's kernels, kept in step with every file they compile in.

numba keys a cached kernel by its own file (its time stamp and size) and its own bytecode. The
search's kernels compile in code and constants of other files: `mcts.step.step` inlines the
helpers of select.py, update.py, tree.py and memory.py, and update.py freezes `ONGOING` of
games/interface.py. With plain `cache=True`, an edit to one of those files would leave the
machine code of the kernels that use it stale until someone deleted mcts/__pycache__.

Every cached kernel of mcts is made with `njit` below: its cache index is stamped with a hash of
all those sources as well as its own file's stamp, so an edit to any of them compiles the
kernels afresh (the stale index is replaced, as numba replaces it when the kernel's own file
changes). tests/test_kernel_cache.py edits a copy of the package and checks that the edit takes
effect.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile

PACKAGE = Path(__file__).resolve().parent
# the files whose code or constants the kernels compile in (games' own kernels are passed to the
# search as function values, typed by their signatures: not compiled in)
SOURCES = (*sorted(PACKAGE.glob("*.py")), PACKAGE.parent / "games" / "interface.py")


def sources_hash(paths=SOURCES) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


SOURCES_HASH = sources_hash()


class SourcesCache(FunctionCache):
    """numba's function cache, with the index stamped by SOURCES_HASH too: an index written
    for other sources is stale, and replaced at the next save."""

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = IndexDataCacheFile(
            cache_path=self._cache_path, filename_base=self._impl.filename_base,
            source_stamp=(self._impl.locator.get_source_stamp(), SOURCES_HASH))


def njit(*args, cache: bool = False, **options):
    """numba.njit; with cache=True, cached in step with all of SOURCES (see the module)."""
    def decorate(function):
        dispatcher = numba.njit(**options)(function)
        if cache:
            dispatcher._cache = SourcesCache(dispatcher.py_func)  # what enable_caching sets
        return dispatcher
    return decorate(args[0]) if args else decorate
