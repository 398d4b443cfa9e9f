"""Faults: a killed server mid-job, an unreachable registry, the audit store down, a failed
quarantine write. Each must end in a clear answer, with no decision lost or unaudited.

A corrupted model (hash mismatch) is ``tests/serving/api/test_reload.py::
test_corrupted_model_is_refused_and_old_keeps_serving``; an audit table that vanished under
a running app is ``tests/serving/api/test_score.py::
test_audit_store_down_is_503_and_returns_nothing``.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from reltools import (
    PgCluster,
    add_keys,
    app_settings,
    auth,
    lines_json,
    server_process,
)

from models.store import AuditStore

pytestmark = pytest.mark.integration
FIGURES: dict[str, Any] = {}


def _csv(frame: pd.DataFrame) -> bytes:
    return pd.DataFrame(lines_json(frame)).to_csv(index=False).encode()


def _wait_job(url: str, headers: dict[str, str], timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = httpx.get(url, headers=headers, timeout=30).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job at {url} did not finish")


def test_server_killed_during_a_job_resumes_with_every_line_once(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame
) -> None:
    settings = app_settings(tmp_path / "app", shared_registry, sync_file_lines=20)
    keys = add_keys(settings)
    h = auth(keys["batcher"])
    data = _csv(lines)
    files = {"file": ("day.csv", data, "text/csv")}
    with server_process(settings, chunk_lines=20) as srv:
        r = httpx.post(f"{srv.url}/v1/score/file", files=files, data={"reasons": "3"},
                       headers=h, timeout=60)  # fmt: skip
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        parts = settings.data_dir / "jobs" / f"{job_id}.parts"
        deadline = time.monotonic() + 120
        while len(list(parts.glob("*.parquet"))) < 3:
            assert time.monotonic() < deadline, "job made no progress"
            time.sleep(0.01)
        srv.kill()  # SIGKILL: no shutdown hook, no flush
    store = AuditStore(settings.audit_store_url())
    audited_at_kill = len(store.job_lines(job_id))
    done_parts = sorted(parts.glob("*.parquet"))
    assert 0 < audited_at_kill < len(lines), audited_at_kill
    # A chunk audited but not checkpointed (killed between the two): drop the last checkpoint.
    done_parts[-1].unlink()
    with server_process(settings, chunk_lines=20) as srv:
        url = f"{srv.url}/v1/jobs/{job_id}"
        assert httpx.get(url, headers=h, timeout=30).json()["status"] == "interrupted"
        r = httpx.post(f"{srv.url}/v1/score/file", files=files, data={"reasons": "3"},
                       headers=h, timeout=60)  # fmt: skip
        assert r.status_code == 202 and r.json()["job_id"] == job_id  # same file: same job
        done = _wait_job(url, h)
        assert done["status"] == "done", done
        entries = _wait_job(f"{url}?limit=10000", h)["result"]["entries"]
        # Uploading it once more answers the finished job and scores nothing again.
        again = httpx.post(f"{srv.url}/v1/score/file", files=files, data={"reasons": "3"},
                           headers=h, timeout=60)  # fmt: skip
        assert again.json()["status"] == "done"
    got = Counter((x["entry_id"], x["line_no"]) for e in entries for x in e["lines"])
    want = Counter(zip(lines["entry_id"], lines["line_no"].astype(int), strict=True))
    assert got == want and max(got.values()) == 1  # every line, exactly once
    audited = Counter((r["entry_id"], r["line_no"]) for r in store.job_lines(job_id))
    assert audited == want  # one decision per line in the audit log, none twice
    by_key = {(x["entry_id"], x["line_no"]): x["risk_score"] for e in entries for x in e["lines"]}
    assert all(by_key[(r["entry_id"], r["line_no"])] == r["risk_score"]
               for r in store.job_lines(job_id))  # fmt: skip
    FIGURES["job_kill"] = {"lines": len(lines), "audited_at_kill": audited_at_kill,
                           "lines_lost": 0, "lines_twice": 0}  # fmt: skip
    print(f"\nkill -9 mid-job: {FIGURES['job_kill']}")


def test_registry_unreachable_at_start_recovers_without_restart(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import serving.app
    from serving.app import create_app

    # The registry lives on a volume that is not mounted: a dangling link.
    mount = tmp_path / "registry-mount"
    mount.symlink_to(tmp_path / "not-mounted")
    settings = app_settings(tmp_path / "app", shared_registry).model_copy(
        update={"mlflow_tracking_uri": f"sqlite:///{mount}/mlflow.db"}
    )
    keys = add_keys(settings)
    monkeypatch.setattr(serving.app, "NO_MODEL_RETRY_S", 0.2)  # no periodic reload configured
    body = {"lines": lines_json(lines.head(2))}
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["model"] is None and r.json()["model_error"]
        r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
        assert r.status_code == 503 and r.json()["detail"].startswith("no model available")
        assert client.app.state.store.audit_rows() == []
        # The volume comes back: the server picks the model up by itself.
        mount.unlink()
        mount.symlink_to(shared_registry.settings.data_dir)
        t0 = time.monotonic()
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() - t0 < 60, client.get("/readyz").json()
            time.sleep(0.1)
        FIGURES["registry_recovery_s"] = round(time.monotonic() - t0, 2)
        r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
        assert r.status_code == 200 and r.json()["model"]["version"] == shared_registry.version


@pytest.mark.parametrize("with_job", [False, True], ids=["json", "job"])
def test_postgres_audit_store_down_is_503_and_nothing_lost(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame, pg: PgCluster,
    with_job: bool,
) -> None:  # fmt: skip
    from serving.app import create_app

    db = f"faults_{'job' if with_job else 'json'}"
    pg.create_db(db)
    settings = app_settings(tmp_path / "app", shared_registry, audit_url=pg.url(db),
                            sync_file_lines=20)  # fmt: skip
    keys = add_keys(settings)
    hs, hb = auth(keys["scorer"]), auth(keys["batcher"])
    scored: Counter[str] = Counter()
    refused = 0

    def score(i: int) -> int:
        nonlocal refused
        chunk = lines.iloc[i * 3 : i * 3 + 3]
        r = client.post("/v1/score", json={"lines": lines_json(chunk)}, headers=hs)
        if r.status_code == 200:
            scored[r.json()["request_id"]] += len(r.json()["results"])
        else:
            assert r.status_code == 503, r.text
            assert r.json() == {"detail": "audit store unavailable: nothing was scored"}
            refused += 1
        return r.status_code

    with TestClient(create_app(settings)) as client:
        assert [score(i) for i in range(3)] == [200] * 3
        pg.stop()
        try:
            assert [score(i) for i in range(3, 6)] == [503] * 3
            r = client.get("/readyz")
            assert r.status_code == 503 and r.json()["audit_store"] == "unavailable"
            fb = {"entry_id": "E", "line_no": 1, "inspected": True, "violation": 1,
                  "decision_id": "0" * 64}  # fmt: skip
            assert (
                client.post("/v1/feedback", json=fb, headers=auth(keys["officer"])).status_code
                == 503
            )
            if with_job:  # a background job while the store is down fails, saying why
                files = {"file": ("d.csv", _csv(lines.head(60)))}
                r = client.post("/v1/score/file", files=files, headers=hb)
                assert r.status_code == 202
                job_url = r.json()["location"]
                for _ in range(600):
                    job = client.get(job_url, headers=hb).json()
                    if job["status"] not in ("queued", "running"):
                        break
                    time.sleep(0.05)
                assert job["status"] == "failed" and "audit store unavailable" in job["error"]
        finally:
            pg.start()
        assert [score(i) for i in range(6, 9)] == [200] * 3
        assert client.get("/readyz").status_code == 200
        if with_job:  # the same upload resumes once the store is back: every line once
            r = client.post("/v1/score/file", files=files, headers=hb)
            assert r.status_code == 202 and r.json()["location"] == job_url
            for _ in range(1200):
                job = client.get(job_url, headers=hb).json()
                if job["status"] not in ("queued", "running"):
                    break
                time.sleep(0.05)
            assert job["status"] == "done", job
            scored[job["job_id"]] = job["n_lines"]
        rows = client.app.state.store.audit_rows()
    got = Counter(r["request_id"] for r in rows)
    assert got == scored  # every answered decision audited; the refused ones left no trace
    assert refused == 3
    keys_seen = Counter((r["request_id"], r["entry_id"], r["line_no"]) for r in rows)
    assert max(keys_seen.values()) == 1
    FIGURES[f"pg_down_{db}"] = {"answered": sum(scored.values()), "refused_503": refused,
                                "audit_rows": len(rows), "lost": 0}  # fmt: skip
    print(f"\naudit store down ({db}): {FIGURES[f'pg_down_{db}']}")


def test_quarantine_write_failure_is_a_clear_503(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import models.contract.reader
    from serving.app import create_app

    settings = app_settings(tmp_path / "app", shared_registry)
    keys = add_keys(settings)
    rows = lines_json(lines.head(5))
    rows[2]["hts_code"] = "12AB"  # one bad row: the reader must quarantine it
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    real = models.contract.reader.write_quarantine

    def disk_full(q: pd.DataFrame, path: Path, *, append: bool = False) -> None:
        def raise_enospc(*_a: Any, **_k: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(q, "to_csv", raise_enospc)
        real(q, path, append=append)

    monkeypatch.setattr(models.contract.reader, "write_quarantine", disk_full)
    with TestClient(create_app(settings)) as client:
        r = client.post("/v1/score/file", files={"file": ("d.csv", io.BytesIO(data))},
                        headers=auth(keys["batcher"]))  # fmt: skip
        assert r.status_code == 503, r.text
        assert "quarantine" in r.json()["detail"] and "nothing was scored" in r.json()["detail"]
        assert client.app.state.store.audit_rows() == []
