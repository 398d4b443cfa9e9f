"""Process memory policy of the server (glibc's allocator; no-ops elsewhere).

A long-running server with a thread pool keeps what glibc's per-thread arenas once held and
what loading a model freed; both show up as resident memory that nothing uses. Libraries
also import optional integrations the server never calls (``import_lean``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import sys
import threading

# Library -> optional integrations it imports eagerly when installed, which serving never
# uses: LightGBM's scikit-learn API (scikit-learn and its SciPy parts: ~65 MB resident) and
# MLflow's Spark schema types (PySpark: ~10 MB). Both libraries catch the ImportError.
LEAN_IMPORTS = {"lightgbm": ("sklearn",), "mlflow": ("pyspark",)}
_LEAN_LOCK = threading.Lock()

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


def arrow_on_system_malloc() -> None:
    """Have Arrow allocate from the C library's ``malloc``, as ``flrisk score`` does.

    Arrow's default pool (mimalloc) keeps its own heaps beside glibc's: in the server they
    held about 26 MB more resident memory once the model was loaded, and freed Arrow
    memory could not be reused by anything else. Allocation only: no value changes.
    """
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def release_free_memory() -> None:
    """Give freed heap (e.g. the parsed JSON of a model's state) back to the OS."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)


def import_lean(plan: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Import each library while its unused optional integrations look uninstalled.

    A module set to ``None`` in ``sys.modules`` makes ``import`` raise ImportError, the case
    these libraries handle as "not installed". The entries are removed afterwards, so the
    integration itself can still be imported, but the library keeps its decision for the
    life of the process: after this, LightGBM's scikit-learn estimators and MLflow's Spark
    schema types are off. Call it once at start-up, before other threads import (the hiding
    is process-wide), and only in a process that serves; ``FLRISK_LEAN_IMPORTS=false``
    turns it off. A library already imported is left alone.

    Args:
        plan: Library -> integrations to hide (default: ``LEAN_IMPORTS``).

    Returns:
        The libraries imported lean.
    """
    done = []
    with _LEAN_LOCK:
        for library, extras in (LEAN_IMPORTS if plan is None else plan).items():
            if library in sys.modules:
                continue
            hidden = [m for m in extras if m not in sys.modules]
            for m in hidden:
                sys.modules[m] = None  # type: ignore[assignment]
            try:
                importlib.import_module(library)
            finally:
                for m in hidden:
                    if sys.modules.get(m, 0) is None:
                        del sys.modules[m]
            done.append(library)
    return done
