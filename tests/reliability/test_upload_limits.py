"""Uploads bounded by what they hold, against a real server process (issue #16, rows 1, 2).

A 315 KB Parquet file declaring 4,000,000 rows and a 8.9 MB CSV with 1,000,000 columns are
refused (413, naming the limit) within seconds, the server's resident memory growing by less
than 100 MB: the Parquet metadata and the CSV header are checked before any row is read.
Before, the same files were answered 200 after 259 s (RSS 1.7 -> 7.9 GB) and 187 s.

Timing is printed, and asserted only with a generous bound (a loaded CI machine must not
fail it); memory is asserted as the issue states it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from reltools import (
    RssSampler,
    add_keys,
    app_settings,
    auth,
    expanding_parquet,
    lines_json,
    server_process,
    wide_csv,
)

from models.store import AuditStore

pytestmark = pytest.mark.integration
MAX_GROWTH_MB = 100.0
MAX_SECONDS = 10.0  # the target is 2 s; the bound leaves room for a loaded machine
FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, shared_registry: SimpleNamespace
) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("upload-limits")
    settings = app_settings(root / "app", shared_registry)
    keys = add_keys(settings)
    with server_process(settings) as srv:
        yield SimpleNamespace(srv=srv, keys=keys, settings=settings, files=root)


def _post(server: SimpleNamespace, name: str, path: Path) -> tuple[httpx.Response, float, Any]:
    with path.open("rb") as fh, RssSampler(server.srv.proc.pid) as rss:
        t0 = time.perf_counter()
        r = httpx.post(
            f"{server.srv.url}/v1/score/file", files={"file": (name, fh)},
            headers=auth(server.keys["batcher"]), timeout=300,
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
    return r, elapsed, rss


def _warm_up(server: SimpleNamespace, lines: pd.DataFrame) -> None:
    """One ordinary CSV and Parquet upload first: what the first upload imports is not growth."""
    csv = server.files / "warm.csv"
    pd.DataFrame(lines_json(lines.head(20))).to_csv(csv, index=False)
    pq = server.files / "warm.parquet"
    pd.DataFrame(lines_json(lines.head(20))).astype(str).to_parquet(pq, index=False)
    for name, path in (("warm.csv", csv), ("warm.parquet", pq)):
        r, _, _ = _post(server, name, path)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("attack", ["parquet_4m_rows", "csv_1m_columns"])
def test_expanding_files_are_refused_fast_in_bounded_memory(
    server: SimpleNamespace, lines: pd.DataFrame, attack: str
) -> None:
    if not FIGURES:
        _warm_up(server, lines)
    if attack == "parquet_4m_rows":
        path = expanding_parquet(server.files / "expands.parquet", rows=4_000_000)
        limit = "1,000,000"
    else:
        path = wide_csv(server.files / "wide.csv", columns=1_000_000)
        limit = "256"
    audited = len(AuditStore(server.settings.audit_store_url()).audit_rows())
    r, elapsed, rss = _post(server, path.name, path)
    FIGURES[attack] = {
        "file_kb": round(path.stat().st_size / 1024), "status": r.status_code,
        "seconds": round(elapsed, 3), "rss_before_mb": round(rss.before),
        "rss_growth_mb": round(rss.growth, 1),
    }  # fmt: skip
    print(f"\n{attack}: {FIGURES[attack]} {r.json()['detail']}")
    assert r.status_code == 413, r.text
    assert limit in r.json()["detail"]
    assert str(server.settings.data_dir) not in r.text
    assert elapsed < MAX_SECONDS, FIGURES[attack]
    assert rss.growth < MAX_GROWTH_MB, FIGURES[attack]
    assert len(AuditStore(server.settings.audit_store_url()).audit_rows()) == audited
    assert httpx.get(f"{server.srv.url}/healthz", timeout=10).status_code == 200
