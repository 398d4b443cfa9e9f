"""Read-ahead of chunks: order, errors and early close."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.prefetch import prefetch


def test_items_come_in_order_and_all():
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))


def test_producer_runs_ahead_of_the_consumer():
    produced: list[int] = []

    def gen():
        for i in range(3):
            produced.append(i)
            yield i

    it = prefetch(gen(), depth=1)
    assert next(it) == 0
    deadline = time.time() + 5
    while len(produced) < 2 and time.time() < deadline:  # item 1 is made while 0 is in use
        time.sleep(0.01)
    assert produced[:2] == [0, 1]
    assert list(it) == [1, 2]


def test_an_error_is_raised_at_its_item():
    def gen():
        yield 1
        raise ValueError("bad chunk 2")

    it = prefetch(gen())
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad chunk 2"):
        next(it)


def test_closing_early_stops_the_producer():
    made = []

    def gen():
        for i in range(1000):
            made.append(i)
            yield i

    it = prefetch(gen(), depth=1)
    assert next(it) == 0
    it.close()
    assert not any(t.name == "prefetch" for t in threading.enumerate())
    assert len(made) <= 3  # stopped, not drained


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        list(prefetch([1], depth=0))
