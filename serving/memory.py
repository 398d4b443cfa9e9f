"""Process memory policy of the server (glibc's allocator; no-ops elsewhere).

A long-running server with a thread pool keeps what glibc's per-thread arenas once held and
what loading a model freed; both show up as resident memory that nothing uses.
"""

from __future__ import annotations

import contextlib
import ctypes

_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (default: 8 per core), so pool threads share a few.

    Args:
        arenas: Arenas at most; threads beyond share them (the GIL serialises Python's
            allocations anyway).
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.mallopt(_M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Give freed heap (e.g. the parsed JSON of a model's state) back to the OS."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)
