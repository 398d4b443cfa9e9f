"""The audit store on SQLite and on a real PostgreSQL server (same tests), and MLflow's
backend store on PostgreSQL: train, register and serve a model through it.

PostgreSQL comes from the session fixture ``pg`` (a throwaway cluster on loopback); where
the server binaries are absent the PostgreSQL cases are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from reltools import PgCluster, add_keys, auth, helpers, lines_json

from models.audit_rows import AuditRows, ModelStamp
from models.feedback import UnknownDecisionError, record_outcome
from models.store import AuditStore, AuditUnavailableError

pytestmark = pytest.mark.integration


def _row(i: int, request_id: str = "r1", score: float = 0.1) -> dict[str, object]:
    line = {"entry_id": f"E-{i}", "line_no": 1, "manufacturer_name": "MÜLLER 株式会社 ☃"}
    result = {"entry_id": f"E-{i}", "line_no": 1, "risk_score": score, "risk_band": "low",
              "reasons": [{"code": "x"}]}  # fmt: skip
    model = ModelStamp("models:/flrisk/1", "a" * 64)
    (row,) = AuditRows(request_id, "k").scored("score", model, [line], [result], latency_ms=1.5)
    return dict(row)


def test_rows_round_trip_exactly(store: AuditStore) -> None:
    scores = [0.1, 1 / 3, 0.123456789012345678, 5e-324, 1.0, 0.0]
    assert store.record([_row(i, score=s) for i, s in enumerate(scores)]) == len(scores)
    rows = store.audit_rows("r1")
    assert [r["risk_score"] for r in rows] == scores  # doubles, to the last bit
    assert json.loads(rows[0]["input_json"])["manufacturer_name"] == "MÜLLER 株式会社 ☃"
    assert [r["entry_id"] for r in store.job_lines("r1")] == [f"E-{i}" for i in range(6)]
    assert store.job_lines("r1")[0]["reasons"] == [{"code": "x"}]
    assert store.record([]) == 0


def test_write_without_waiting_only_when_no_other_writer(store: AuditStore) -> None:
    if not store.url.startswith("sqlite"):
        assert store.record([_row(1)], wait=False) is None  # a server: always in the pool
        assert store.audit_rows() == []
        return
    assert store.record([_row(1)], wait=False) == 1
    with store._sqlite_writer:  # a thread of this process is writing
        assert store.record([_row(2)], wait=False) is None
    import sqlite3
    import time

    other = sqlite3.connect(store.url.split("///", 1)[1])  # another process's connection
    other.execute("BEGIN IMMEDIATE")  # holds the file's write lock
    try:
        t0 = time.perf_counter()
        assert store.record([_row(3)], wait=False) is None
        assert time.perf_counter() - t0 < 1.0  # gave up at once, not after the busy timeout
    finally:
        other.rollback()
        other.close()
    assert [r["entry_id"] for r in store.audit_rows()] == ["E-1"]
    with store.engine.connect() as conn:  # the pooled connection waits again as configured
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == 5000
    assert store.record([_row(4)], wait=False) == 1


def test_many_rows_and_odd_rows(store: AuditStore) -> None:
    many = [_row(i, score=i / 1000) for i in range(150)]  # a file job's chunk
    assert store.record(many) == 150
    assert [r["risk_score"] for r in store.audit_rows("r1")] == [i / 1000 for i in range(150)]
    odd = _row(1000)
    del odd["latency_ms"]
    with pytest.raises(AuditUnavailableError):
        store.record([_row(999), odd])
    assert len(store.audit_rows("r1")) == 150


def test_party_index_holds_each_lines_parties_and_each_names_last_time(store: AuditStore) -> None:
    """The re-screen's index, written through the driver, reads back the same on both stores."""
    from sqlalchemy import text

    from models.store import Alerts

    names = ["MÜLLER 株式会社 ☃", 'O\'BRIEN "QUOTED" CO', "PLAIN LTD"]

    def parties(i: int) -> tuple[str, str | None]:
        return names[i % 3], (names[(i + 1) % 3] if i % 4 else None)  # no shipper: None

    rows, expected, last = [], [], {}
    for i in range(30):
        maker, shipper = parties(i)
        date, ts = f"2024-02-{1 + i % 28:02d}", f"2024-03-01T00:00:{i:02d}"
        line = {"entry_id": f"P-{i}", "line_no": 1 + i % 2, "entry_date": date,
                "manufacturer_name": maker, "shipper_name": shipper or ""}  # fmt: skip
        res = {"entry_id": f"P-{i}", "line_no": 1 + i % 2, "risk_score": i / 30,
               "risk_band": "low", "reasons": []}  # fmt: skip
        stamp = ModelStamp("m/1", "h")
        rows += AuditRows("r1", "k", ts=ts).scored("score", stamp, [line], [res], 1.0)
        expected.append((f"P-{i}", 1 + i % 2, date, maker, shipper, i / 30))
        last.update({n: (n.upper(), ts) for n in (maker, shipper) if n})
    alerts = Alerts(store)
    store.record(rows[:10])
    assert alerts.index(str.upper) == 10
    store.record(rows[10:])  # names seen before: their last time moves forward
    assert alerts.index(str.upper) == 20
    assert alerts.index(str.upper) == 0
    # A line indexed late with an older time moves no name's last time back.
    line = {"entry_id": "P-old", "line_no": 1, "manufacturer_name": names[0]}
    res = {"entry_id": "P-old", "line_no": 1, "risk_score": 0.0, "risk_band": "low",
           "reasons": []}  # fmt: skip
    stamp = ModelStamp("m/1", "h")
    store.record(
        AuditRows("r2", "k", ts="2000-01-01T00:00:00").scored("score", stamp, [line], [res], 1.0)
    )
    assert alerts.index(str.upper) == 1
    expected.append(("P-old", 1, "", names[0], None, 0.0))
    with store.engine.connect() as conn:
        got = conn.execute(text(
            "SELECT entry_id, line_no, entry_date, manufacturer_name, shipper_name, risk_score "
            "FROM line_parties ORDER BY audit_id")).all()  # fmt: skip
        norms = conn.execute(text("SELECT name, norm, last_ts FROM party_names")).all()
    assert [tuple(r) for r in got] == expected
    assert {n: (m, t) for n, m, t in norms} == last


def test_one_transaction_per_request(store: AuditStore) -> None:
    bad = _row(2)
    bad["request_id"] = None  # NOT NULL: the whole batch must be refused
    with pytest.raises(AuditUnavailableError):
        store.record([_row(1), bad])
    assert store.audit_rows() == []


def test_feedback_status_and_training_join(store: AuditStore) -> None:
    store.record([_row(1), _row(2)])
    decision = store.audit_rows()[0]["input_hash"]
    fb = {"entry_id": "E-1", "line_no": 1, "decision_id": decision, "inspected": True,
          "inspection_reason": "targeted", "violation": 1, "outcome": "detained",
          "note": None}  # fmt: skip
    first = record_outcome(store, fb, key_id="o1", source="workbench", request_id="f1")
    assert first["feedback_id"] >= 1 and first["line_status"] == "labelled"
    assert store.has_decision("E-1", 1, decision) and not store.has_decision("E-9", 1, decision)
    system = record_outcome(store, {**fb, "violation": 0}, key_id="sys", source="api",
                            request_id="f2")  # fmt: skip
    assert system["label_feedback_id"] == first["feedback_id"]  # the officer's word stands
    with pytest.raises(UnknownDecisionError):
        record_outcome(store, {**fb, "entry_id": "NEVER"}, key_id="o1", source="api",
                       request_id="f3")  # fmt: skip
    records, statuses, inputs = store.feedback_for_training()
    assert len(records) == 2 and len(inputs) == 1
    assert statuses[("E-1", 1)]["feedback_id"] == first["feedback_id"]


def test_concurrent_outcomes_for_one_line_are_resolved_one_at_a_time(store: AuditStore) -> None:
    store.record([_row(1)])
    decision = store.audit_rows()[0]["input_hash"]
    errors: list[BaseException] = []

    def send(i: int) -> None:
        fb = {"entry_id": "E-1", "line_no": 1, "decision_id": decision, "inspected": True,
              "inspection_reason": "targeted", "violation": i % 2, "outcome": None,
              "note": None}  # fmt: skip
        try:
            record_outcome(store, fb, key_id=f"o{i}", source="workbench", request_id=f"r{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _, statuses, _ = store.feedback_for_training()
    assert statuses[("E-1", 1)]["records"] == 8 and statuses[("E-1", 1)]["status"] == "review"


@pytest.mark.parametrize("stores", [1, 2])
def test_concurrent_writers_lose_nothing_and_keep_one_chain(store: AuditStore, stores: int) -> None:
    """8 threads on one store; with two stores on one database (as two server processes
    would be), every other thread writes through the second. The hash chain never forks."""
    writers = [store, *(AuditStore(store.url) for _ in range(stores - 1))]
    n_threads, per_thread = 8, 40
    errors: list[BaseException] = []

    def write(t: int) -> None:
        try:
            for i in range(per_thread):
                writers[t % stores].record(
                    [
                        _row(t * 1000 + i, request_id=f"t{t}-{i}"),
                        _row(t * 1000 + i + 500, request_id=f"t{t}-{i}"),
                    ]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers[1:]:
        w.dispose()
    assert errors == []
    assert len(store.audit_rows()) == n_threads * per_thread * 2
    verdict = store.verify()
    assert verdict.ok, verdict.problem
    assert verdict.chained == n_threads * per_thread * 2


def test_unreachable_store_is_an_audit_error_not_a_crash(tmp_path: Path) -> None:
    s = AuditStore("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")
    assert s.probe() is not None
    with pytest.raises(AuditUnavailableError):
        s.record([_row(1)])
    with pytest.raises(AuditUnavailableError):
        s.has_decision("E", 1, "0" * 64)
    with pytest.raises(AuditUnavailableError):
        s.job_lines("r")


TRAIN_CONFIG = """
[lightgbm]
num_boost_round = 30
learning_rate = 0.2
[evaluation]
bootstrap = 10
"""


def test_mlflow_backend_store_on_postgres_trains_registers_and_serves(
    tmp_path: Path, pg: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.settings import Settings, get_settings
    from pipelines.train import train_command
    from serving.app import create_app

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    train = tmp_path / "train.csv"
    helpers.make_lines(3000, seed=11).to_csv(train, index=False)
    cfg = tmp_path / "train.toml"
    cfg.write_text(TRAIN_CONFIG)
    uri = pg.url("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FLRISK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        model_uri = train_command(
            data=[train], mapping=None, name="flrisk", config=cfg, truth=None,
            use_feedback=False, promote_alias="champion", allow_bad_rows=False,
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert model_uri.startswith("models:/flrisk/")
    # The registry (runs, versions, aliases) is in PostgreSQL; artifacts stay in a folder.
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=mlflow") as conn:
        n_versions = conn.execute("SELECT count(*) FROM model_versions").fetchone()
        aliases = conn.execute("SELECT alias FROM registered_model_aliases").fetchall()
    assert n_versions is not None and n_versions[0] >= 1 and ("champion",) in aliases
    assert list(data_dir.rglob("model.lgb"))
    # Serve it from the PostgreSQL registry, with the audit store on PostgreSQL too.
    pg.create_db("served_audit")
    settings = Settings(data_dir=data_dir / "serve", bootstrap_key=False, num_threads=1,
                        mlflow_tracking_uri=uri, audit_url=pg.url("served_audit"))  # fmt: skip
    keys = add_keys(settings)
    lines = helpers.make_lines(5, seed=12, labels=False)
    from models.contract.validate import validate_lines

    body = {"lines": lines_json(validate_lines(lines).frame)}
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200, client.get("/readyz").json()
        r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
        assert r.status_code == 200 and r.json()["model"]["alias"] == "champion"
        assert len(client.app.state.store.audit_rows()) == 5
    assert os.environ["MLFLOW_TRACKING_URI"] == uri  # restored by monkeypatch after the test


def test_pg_fixture_is_loopback_only(pg: PgCluster) -> None:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres") as conn:
        row = conn.execute("SHOW listen_addresses").fetchone()
    assert row is not None and row[0] == "127.0.0.1"
