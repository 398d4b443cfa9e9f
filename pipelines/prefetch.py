"""Read ahead: produce the next items of an iterator in a thread while the caller works.

``flrisk score`` reads and validates chunk k+1 (Arrow and NumPy, which release the GIL for
most of it) while chunk k is scored, so the two cores are both busy.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Yield ``items`` in order, computing up to ``depth`` of them ahead in a thread.

    Exceptions raised while producing an item are raised by the consumer at that item.
    Closing the generator early stops the producer after the item it is working on.

    Args:
        items: Any iterable (e.g. a generator of chunks).
        depth: Items held ready ahead of the consumer (>= 1).

    Yields:
        The items of ``items``, in order.
    """
    if depth < 1:
        raise ValueError("depth must be >= 1")
    ready: queue.Queue[object] = queue.Queue()
    # A slot is taken before an item is *made* and given back when the consumer takes one:
    # at most ``depth`` items exist beyond the one in use (chunks are large).
    slots = threading.Semaphore(depth)
    stop = threading.Event()

    def take_slot() -> bool:
        while not stop.is_set():
            if slots.acquire(timeout=0.1):
                return True
        return False

    def produce() -> None:
        it = iter(items)
        try:
            while take_slot():
                try:
                    item = next(it)
                except StopIteration:
                    ready.put(_DONE)
                    return
                ready.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(_Failed(exc))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            slots.release()
            yield item  # type: ignore[misc]
            del item  # not kept alive while the next one is awaited
    finally:
        stop.set()
        worker.join()
