"""Load: 8 concurrent clients for 15 s on loopback against a server process (CI version of
``bench/load.py``, which runs 60 s): each client paced at 5 requests/s, as screening systems
forward lines, latency timed from the schedule. Zero errors; every scored line audited;
figures printed.

Latency is reported, not asserted: the targets (p50 <= 10 ms, p99 <= 25 ms for one line) are
the performance work's, and this test must not fail on a slow CI machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from reltools import add_keys, app_settings, lines_json, server_process

from bench.load import run_load
from models.store import AuditStore

pytestmark = pytest.mark.integration
DURATION = float(os.environ.get("FLRISK_LOAD_SECONDS", "15"))


def test_load_zero_errors_and_every_line_audited(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame
) -> None:
    settings = app_settings(tmp_path / "app", shared_registry, rate_limit_per_minute=1e6,
                            rate_limit_burst=100_000, num_threads=2)  # fmt: skip
    keys = add_keys(settings)
    with server_process(settings) as srv:
        result = run_load(
            srv.url, keys["scorer"], lines_json(lines), clients=8, duration=DURATION, rate=5.0
        )
        assert srv.proc.poll() is None  # the server survived
    print(f"\nload: {result.summary()}")
    assert result.errors == 0, (result.statuses, result.error_samples)
    assert result.requests > 0 and result.lines_scored == result.requests
    store = AuditStore(settings.audit_store_url())
    rows = [r for r in store.audit_rows() if r["action"] == "score"]
    measured = set(result.request_ids)
    # Every answered decision is in the audit log once (plus the one warm-up request).
    assert len(rows) == result.lines_scored + 1
    assert measured <= {r["request_id"] for r in rows}
    assert len({r["request_id"] for r in rows}) == len(rows)
    print(f"load: audit rows {len(rows)} = {result.lines_scored} scored lines + 1 warm-up")
