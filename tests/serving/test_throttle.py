"""The failed-authentication throttle on its own: buckets, summaries, bounds."""

from __future__ import annotations

import pytest

from serving.throttle import OTHERS, FailureThrottle, client_address


def test_an_address_is_refused_past_its_burst_and_others_are_not() -> None:
    t = FailureThrottle(per_minute=6, burst=3)
    for _ in range(3):
        assert t.wait("192.0.2.1") == 0
        t.failed("192.0.2.1", "api")
    assert t.wait("192.0.2.1") == pytest.approx(10.0, abs=0.5)  # 6/min: one token per 10 s
    assert t.wait("192.0.2.2") == 0


def test_one_row_per_address_and_interval_counts_every_failure() -> None:
    t = FailureThrottle(per_minute=6, burst=3, audit_interval_s=60)
    first = t.failed("192.0.2.1", "api")
    assert first is not None and first.failures == 1
    assert all(t.failed("192.0.2.1", "api") is None for _ in range(499))
    assert t.drain() == []  # not due yet
    rest = t.drain(everything=True)
    assert [(s.address, s.via, s.failures) for s in rest] == [("192.0.2.1", "api", 499)]
    row = rest[0].audit_row("r1")
    assert row["action"] == "api_key_failed" and row["key_id"] == "-"
    assert t.failed("192.0.2.1", "workbench") is not None  # its own row: another way in


def test_rows_and_addresses_stay_bounded_whatever_the_number_of_addresses() -> None:
    t = FailureThrottle(per_minute=6, burst=3, rows_per_interval=10, max_addresses=50)
    rows = [t.failed(f"10.0.{i // 256}.{i % 256}", "api") for i in range(1000)]
    assert sum(r is not None for r in rows) == 10
    assert len(t) <= 50
    drained = t.drain(everything=True)
    assert sum(s.failures for s in drained) + 10 == 1000  # nothing lost, folded into "*"
    assert any(s.address == OTHERS for s in drained)
    assert len(drained) <= 50 + 1


def test_client_addresses() -> None:
    assert client_address("2001:db8:1:2:aaaa::1") == client_address("2001:db8:1:2:ffff::9")
    assert client_address("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_address("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_address("192.0.2.7") == "192.0.2.7"
    assert client_address(None) == "unknown"
    assert client_address("testclient") == "testclient"
