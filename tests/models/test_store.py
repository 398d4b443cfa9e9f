"""The audit store's write is committed: a second connection sees it, a restart keeps it."""

from __future__ import annotations

import hashlib
import importlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from models import audit_chain as chain
from models.audit_rows import AuditRows, ModelStamp
from models.feedback import record_outcome
from models.store import (
    AuditStore,
    AuditUnavailableError,
    ShadowScores,
    canonical_json,
    input_hash,
    now_iso,
)


def test_recorded_rows_are_committed_for_another_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    writer = AuditStore(url)
    rows = AuditRows("req-1", "key-1").event("test_event", {"note": "x"})
    assert writer.record([rows]) == 1
    reader = AuditStore(url)  # its own engine and connection: sees only committed rows
    try:
        got = reader.audit_rows("req-1")
        assert [r["action"] for r in got] == ["test_event"]
    finally:
        reader.dispose()
        writer.dispose()


# models.store exports the ``audit`` table under the module's name: the module by its path.
audit_module = importlib.import_module("models.store.audit")

MODEL = ModelStamp("models:/flrisk/3", "b" * 64)


def _result(entry: str, line_no: int, score: float) -> dict[str, Any]:
    return {"entry_id": entry, "line_no": line_no, "risk_score": score, "risk_band": "high",
            "reasons": [{"code": "route", "contribution": 0.5}]}  # fmt: skip


def _line(entry: str, line_no: int, hs: str = "520100") -> dict[str, Any]:
    return {"entry_id": entry, "line_no": line_no, "hts_code": hs}


def _feedback(store: AuditStore, entry: str, line_no: int, **fields: Any) -> int:
    """An officer's outcome for the line's latest audited scoring."""
    decision = [
        r["input_hash"]
        for r in store.audit_rows()
        if (r["entry_id"], r["line_no"], r["action"]) == (entry, line_no, "score")
    ][-1]
    record = {"entry_id": entry, "line_no": line_no, "decision_id": decision, "inspected": True,
              "inspection_reason": "random", "violation": 1, "outcome": None,
              "note": None}  # fmt: skip
    record.update(fields)
    done = record_outcome(store, record, key_id="officer-1", source="workbench",
                          request_id="fb-" + entry)  # fmt: skip
    return int(done["feedback_id"])


def _score(store: AuditStore, entry: str, line_no: int, hs: str = "520100") -> None:
    rows = AuditRows("r-" + entry, "k")
    store.record(rows.scored("score", MODEL, [_line(entry, line_no, hs)],
                             [_result(entry, line_no, 0.5)], 1.0))  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    s = AuditStore(f"sqlite:///{tmp_path / 'sub' / 'audit.db'}")
    yield s
    s.dispose()


def test_a_new_store_takes_a_probe_write_and_has_no_rows(store: AuditStore) -> None:
    assert store.probe() is None
    assert store.audit_rows() == [] and store.feedback_for("E-1") == []
    assert store.feedback_for_training() == ([], {}, [])
    assert store.record([]) == 0
    closed = AuditStore("postgresql+psycopg://flrisk@127.0.0.1:9/none?connect_timeout=2")
    assert "audit write failed" in (closed.probe() or "")  # nothing listens on port 9


def test_job_lines_are_the_scored_lines_of_that_request_in_order(store: AuditStore) -> None:
    rows = AuditRows("job-1", "k")
    lines = [_line("E-1", 1), _line("E-1", 2)]
    results = [_result("E-1", 1, 0.9), _result("E-1", 2, 0.1)]
    store.record(rows.scored("score_file", MODEL, lines, results, 2.0))
    store.record([rows.event("job_started", {"lines": 2})])
    store.record(AuditRows("job-2", "k").scored("score_file", MODEL, lines[:1], results[:1], 1))
    got = store.job_lines("job-1")
    decision = [input_hash(canonical_json(line)) for line in lines]  # each scoring's input
    assert got == [
        {"entry_id": "E-1", "line_no": 1, "decision_id": decision[0], "risk_score": 0.9,
         "risk_band": "high", "reasons": [{"code": "route", "contribution": 0.5}],
         "presumption": ""},
        {"entry_id": "E-1", "line_no": 2, "decision_id": decision[1], "risk_score": 0.1,
         "risk_band": "high", "reasons": [{"code": "route", "contribution": 0.5}],
         "presumption": ""},
    ]  # fmt: skip
    assert store.job_lines("job-3") == []


def test_has_decision_only_for_a_scored_line_with_that_input(store: AuditStore) -> None:
    rows = AuditRows("r1", "k")
    store.record(rows.scored("score", MODEL, [_line("E-1", 1)], [_result("E-1", 1, 0.5)], 1.0))
    store.record(rows.viewed("workbench_view", MODEL, [_result("E-2", 1, 0.5)]))  # no input
    fb = rows.feedback("E-3", 1, {"entry_id": "E-3"})
    store.record([fb])  # feedback, not scoring
    decision = input_hash(canonical_json(_line("E-1", 1)))
    assert store.has_decision("E-1", 1, decision) is True
    assert store.has_decision("E-1", 2, decision) is False
    assert store.has_decision("E-1", 1, "0" * 64) is False
    assert store.has_decision("E-3", 1, str(fb["input_hash"])) is False
    assert store.has_decision("E-2", 1, decision) is False  # another entry's decision
    workbench = rows.scored(
        "workbench_score", MODEL, [_line("E-4", 1)], [_result("E-4", 1, 0.5)], 1
    )
    store.record(workbench)  # scored by an officer in the workbench: a decision too
    assert store.has_decision("E-4", 1, str(workbench[0]["input_hash"])) is True


def test_feedback_and_its_audit_row_are_written_together(store: AuditStore) -> None:
    _score(store, "E-1", 1)
    _score(store, "E-1", 2)
    first = _feedback(store, "E-1", 1, violation=0, outcome="released")
    second = _feedback(store, "E-1", 2, note="seized at port")
    assert (first, second) == (1, 2)
    got = store.feedback_for("E-1")
    assert [(r["line_no"], r["violation"], r["outcome"], r["note"]) for r in got] == [
        (1, 0, "released", None),
        (2, 1, None, "seized at port"),
    ]
    assert [r["action"] for r in store.audit_rows()] == ["score", "score", "feedback", "feedback"]
    with pytest.raises(AuditUnavailableError, match="feedback write failed"):
        _feedback(store, "E-1", 1, inspected=None)  # NOT NULL: nothing written
    assert len(store.feedback_for("E-1")) == 2 and len(store.audit_rows()) == 4
    assert store.verify().ok


def test_training_gets_the_records_the_statuses_and_the_audited_inputs(
    store: AuditStore,
) -> None:
    _score(store, "E-1", 1, "111111")
    _score(store, "E-1", 1, "222222")  # re-scored with other content: the latest decision
    _score(store, "E-2", 1)
    first = _feedback(store, "E-1", 1, violation=1)
    _feedback(store, "E-2", 1, inspected=False, inspection_reason=None, violation=None)
    records, statuses, inputs = store.feedback_for_training()
    assert [r["id"] for r in records] == [first, first + 1]
    assert statuses[("E-1", 1)]["feedback_id"] == first
    assert statuses[("E-1", 1)]["status"] == "labelled"
    assert [(r["entry_id"], r["input_json"]) for r in inputs] == [
        ("E-1", canonical_json(_line("E-1", 1, "111111"))),
        ("E-1", canonical_json(_line("E-1", 1, "222222"))),
        ("E-2", canonical_json(_line("E-2", 1))),
    ]


def test_a_write_that_would_wait_writes_nothing(store: AuditStore) -> None:
    rows = AuditRows("r1", "k")
    row = rows.event("e1")
    assert store.record([row], wait=False) == 1
    assert store._sqlite_writer is not None
    with store._sqlite_writer:  # another thread of this process is writing
        assert store.record([rows.event("e2")], wait=False) is None
    assert [r["action"] for r in store.audit_rows()] == ["e1"]
    server = AuditStore.__new__(AuditStore)
    server._sqlite_writer = None  # a database server is never written without waiting
    assert server.record([row], wait=False) is None


def test_a_large_batch_is_written_in_one_transaction(store: AuditStore) -> None:
    rows = AuditRows("big", "k")
    n = 65
    lines = [_line("E-1", i) for i in range(1, n + 1)]
    results = [_result("E-1", i, i / n) for i in range(1, n + 1)]
    assert store.record(rows.scored("score_file", MODEL, lines, results, 1.0)) == n
    assert [r["line_no"] for r in store.job_lines("big")] == list(range(1, n + 1))
    bad = dict(rows.event("x"))
    del bad["action"]
    with pytest.raises(AuditUnavailableError, match="audit write failed"):
        store.record([bad] * n)
    with pytest.raises(AuditUnavailableError, match="audit write failed: KeyError"):
        store.record([rows.event("y"), bad])
    assert len(store.audit_rows("big")) == n + 0


def test_audit_rows_of_one_request_oldest_first(store: AuditStore) -> None:
    for rid, action in (("a", "e1"), ("b", "e2"), ("a", "e3")):
        store.record([AuditRows(rid, "k").event(action)])
    assert [r["action"] for r in store.audit_rows("a")] == ["e1", "e3"]
    assert [r["action"] for r in store.audit_rows()] == ["e1", "e2", "e3"]


def test_canonical_json_and_its_hash_are_stable() -> None:
    text = canonical_json({"b": "é", "a": 1})
    assert text == '{"a":1,"b":"é"}'
    assert input_hash(text) == hashlib.sha256(text.encode()).hexdigest()
    assert now_iso().endswith("+00:00") and len(now_iso()) == len(
        "2026-01-01T00:00:00.000000+00:00"
    )


def test_job_lines_read_the_presumption_and_tolerate_rows_without_reasons(
    store: AuditStore,
) -> None:
    rows = AuditRows("job-p", "k")
    presumed = {**_result("E-1", 1, 0.9), "presumption": "uflpa_entity"}
    store.record(rows.scored("score_file", MODEL, [_line("E-1", 1)], [presumed], 1.0))
    bare = rows.scored("score_file", MODEL, [_line("E-1", 2)], [_result("E-1", 2, 0.2)], 1.0)
    store.record(
        [{**bare[0], "reasons_json": None}, {**bare[0], "line_no": 3, "reasons_json": "{}"}]
    )
    got = [(r["line_no"], r["reasons"], r["presumption"]) for r in store.job_lines("job-p")]
    assert got == [
        (1, [{"code": "route", "contribution": 0.5}], "uflpa_entity"),
        (2, [], ""),  # a row written without reasons
        (3, [], ""),
    ]


def test_a_store_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    store.create()
    store.dispose()  # the next read opens the file again
    path.unlink()
    path.with_name("audit.db-wal").unlink(missing_ok=True)
    path.write_bytes(b"this is not an SQLite database" * 200)
    try:
        with pytest.raises(AuditUnavailableError) as read:
            store.job_lines("r")
        assert str(read.value) == "audit read failed: DatabaseError"
        with pytest.raises(AuditUnavailableError) as checked:
            store.has_decision("E-1", 1, "0" * 64)
        assert str(checked.value) == "audit read failed: DatabaseError"
        with pytest.raises(AuditUnavailableError) as verified:
            store.verify()
        assert str(verified.value) == "audit read failed: DatabaseError"
    finally:
        store.dispose()


def test_verify_needs_the_file_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none" / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    with pytest.raises(AuditUnavailableError) as missing:
        store.verify()
    assert str(missing.value) == f"no audit database file at {path}"
    assert not path.exists()
    path.touch()  # a file with no tables yet: nothing to verify
    assert store.verify() == chain.Verdict(0, 0, None)
    store.dispose()


def test_verify_reads_the_head_and_passes_the_noted_hash_on(store: AuditStore) -> None:
    for action in ("e1", "e2", "e3"):
        store.record([AuditRows("r", "k").event(action)])
    rows = store.audit_rows()
    verdict = store.verify(noted=str(rows[1]["row_hash"]))
    assert verdict.ok and verdict.noted_at == 2 and verdict.chained == 3
    assert verdict.head == chain.ChainHead(1, 3, str(rows[-1]["row_hash"]))
    assert not store.verify(noted="0" * 64).ok  # a noted hash no row has
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit")
    # The head is there but the log is gone: nothing to walk, the head still reported.
    assert store.verify() == chain.Verdict(0, 0, verdict.head)


def test_verify_names_a_removed_head_row_or_head_table(store: AuditStore) -> None:
    store.record([AuditRows("r", "k").event("e1")])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_chain")
    emptied = store.verify()
    assert (emptied.ok, emptied.broken_at, emptied.head) == (False, 1, None)
    assert "head is missing" in (emptied.problem or "")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_chain")
    dropped = store.verify()
    assert (dropped.broken_at, dropped.head) == (1, None)


def test_file_problem_names_a_removed_file_and_a_server_has_none(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    store.create()
    assert store.file_problem() is None
    path.unlink()
    assert store.file_problem() == "the audit database file was removed while serving"
    store.dispose()
    server = AuditStore("postgresql+psycopg://flrisk@127.0.0.1:9/none")
    assert server.file_problem() is None  # no file to watch: nothing is opened to ask


def test_a_lines_feedback_records_are_its_own_not_another_entrys(store: AuditStore) -> None:
    _score(store, "E-1", 1)
    _score(store, "E-2", 1)
    _feedback(store, "E-1", 1, violation=1)
    _feedback(store, "E-2", 1, violation=0)
    with store.feedback_write("E-2", 1) as write:
        assert [(r["entry_id"], r["violation"]) for r in write.records()] == [("E-2", 0)]
    with store.feedback_write("E-1", 2) as write:
        assert write.records() == []  # same entry, another line


def test_feedback_for_gives_each_records_line_status_and_the_record_in_force(
    store: AuditStore,
) -> None:
    _score(store, "E-1", 1)
    first = _feedback(store, "E-1", 1, violation=1)
    second = _feedback(store, "E-1", 1, violation=1, outcome="seized")
    got = [(r["id"], r["line_status"], r["in_force"]) for r in store.feedback_for("E-1")]
    assert got == [(first, "labelled", second), (second, "labelled", second)]
    # A record from a store made before lines had a status row is still listed.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM feedback_lines")
    got = [(r["id"], r["line_status"], r["in_force"]) for r in store.feedback_for("E-1")]
    assert got == [(first, None, None), (second, None, None)]


def test_training_inputs_are_oldest_first_across_entries_and_include_the_workbenchs(
    store: AuditStore,
) -> None:
    _score(store, "E-2", 1)
    rows = AuditRows("wb", "officer-1")
    line = _line("E-1", 1, "610910")
    store.record(rows.scored("workbench_score", MODEL, [line], [_result("E-1", 1, 0.4)], 1.0))
    _score(store, "E-1", 1)
    _feedback(store, "E-1", 1)
    _feedback(store, "E-2", 1)
    _, _, inputs = store.feedback_for_training()
    assert [(r["entry_id"], r["input_json"]) for r in inputs] == [
        ("E-2", canonical_json(_line("E-2", 1))),
        ("E-1", canonical_json(line)),  # scored in the workbench
        ("E-1", canonical_json(_line("E-1", 1))),
    ]


def test_a_store_in_folders_not_made_yet_makes_them(tmp_path: Path) -> None:
    path = tmp_path / "data" / "2026" / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    assert store.record([AuditRows("r", "k").event("e1")]) == 1
    assert path.is_file()
    store.dispose()


def test_a_removed_file_refuses_writes_and_the_probe_says_why(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    assert store.record([AuditRows("r", "k").event("e1")]) == 1
    path.unlink()  # someone removes the file under the running server
    why = "the audit database file was removed while serving"
    with pytest.raises(AuditUnavailableError) as refused:
        store.record([AuditRows("r", "k").event("e2")])
    assert str(refused.value) == why
    assert store.probe() == why
    with pytest.raises(AuditUnavailableError, match=why), store.audited("feedback write"):
        pass
    store.dispose()


def test_a_server_store_watches_no_file_and_never_writes_without_waiting() -> None:
    server = AuditStore("postgresql+psycopg://flrisk@127.0.0.1:9/none?connect_timeout=2")
    assert server.record([AuditRows("r", "k").event("e1")], wait=False) is None
    with pytest.raises(AuditUnavailableError) as unread:
        server.verify()  # nothing listens on port 9
    assert str(unread.value) == "audit read failed: OperationalError"
    server.dispose()


def test_a_write_waits_for_another_process_holding_the_file_unless_told_not_to(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    store.create()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing: it holds the write lock
    try:
        assert store.record([AuditRows("r", "k").event("skipped")], wait=False) is None
        threading.Timer(0.3, other.execute, ["COMMIT"]).start()
        assert store.record([AuditRows("r", "k").event("waited")]) == 1  # waits by default
    finally:
        other.close()
    assert [r["action"] for r in store.audit_rows()] == ["waited"]
    with store.engine.connect() as conn:  # the writer's connection waits again next time
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    store.dispose()


def test_every_sqlite_connection_is_in_wal_mode_and_waits_for_the_writer(
    store: AuditStore,
) -> None:
    """Readers run beside the writer (WAL); a writer waits 5 s for the lock before failing."""
    with store.engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA busy_timeout").scalar() == 5000


def test_a_write_waits_for_this_processs_other_writer_by_default(store: AuditStore) -> None:
    writer = store._sqlite_writer
    assert writer is not None
    writer.acquire()  # another thread of this process is writing
    threading.Timer(0.3, writer.release).start()
    assert store.record([AuditRows("r", "k").event("waited")]) == 1
    writer.acquire()
    threading.Timer(0.3, writer.release).start()
    assert store.probe() is None  # the probe waits its turn too, and then writes


def test_a_resources_rows_and_its_audit_row_are_written_together(store: AuditStore) -> None:
    shadow = {"ts": now_iso(), "request_id": "r", "entry_id": "E-1", "line_no": 1,
              "champion_version": "3", "champion_score": 0.2, "champion_band": "low",
              "challenger_version": "4", "challenger_score": 0.7,
              "challenger_band": "high"}  # fmt: skip
    ShadowScores(store).record([shadow], AuditRows("r", "-").event("shadow_score"))
    assert [r["challenger_score"] for r in ShadowScores(store).with_outcomes()] == [0.7]
    assert [r["action"] for r in store.audit_rows()] == ["shadow_score"]
    with pytest.raises(AuditUnavailableError, match="shadow scores write failed"):
        ShadowScores(store).record(
            [{**shadow, "champion_score": None}], AuditRows("r2", "-").event("shadow_score")
        )
    assert len(ShadowScores(store).with_outcomes()) == 1 and len(store.audit_rows()) == 1


def test_an_older_store_gets_the_new_columns_and_a_chain_after_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with sqlite3.connect(path) as old:  # a store written before the hash chain existed
        old.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, request_id VARCHAR(64) "
                    "NOT NULL, ts VARCHAR(40) NOT NULL, key_id VARCHAR(128) NOT NULL, "
                    "action VARCHAR(64) NOT NULL)")  # fmt: skip
        old.executemany("INSERT INTO audit (request_id, ts, key_id, action) VALUES (?,?,?,?)",
                        [("old", "2025-01-01", "k", "score")] * 3)  # fmt: skip
    old.close()
    store = AuditStore(f"sqlite:///{path}")
    store.record([AuditRows("new", "k").event("e1")])
    got = [(r["id"], r["request_id"], r["row_hash"] is None) for r in store.audit_rows()]
    assert got == [(1, "old", True), (2, "old", True), (3, "old", True), (4, "new", False)]
    verdict = store.verify()
    assert verdict.ok and (verdict.legacy, verdict.chained, verdict.chain_start) == (3, 1, 4)
    store.dispose()


def test_a_column_another_process_added_first_is_not_an_error(
    store: AuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create()
    real = audit_module.inspect

    class Stale:  # what this process read before another one added the hash columns
        def __init__(self, bind: Any) -> None:
            self.inspector = real(bind)

        def get_columns(self, table: str) -> list[dict[str, Any]]:
            cols = self.inspector.get_columns(table)
            return [c for c in cols if c["name"] not in ("prev_hash", "row_hash")]

    monkeypatch.setattr(audit_module, "inspect", Stale)
    store.create()  # the ALTER fails (the column is there): nothing to do
    assert store.record([AuditRows("r", "k").event("e1")]) == 1


def test_a_write_without_the_chains_head_row_is_refused(store: AuditStore) -> None:
    store.record([AuditRows("r", "k").event("e1")])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_chain")
    with pytest.raises(AuditUnavailableError) as refused:
        store.record([AuditRows("r", "k").event("e2")])
    assert str(refused.value) == "the audit chain's head row is missing"
    assert [r["action"] for r in store.audit_rows()] == ["e1"]


def test_the_store_is_written_and_read_from_any_thread(store: AuditStore) -> None:
    """The API writes on the event loop and in the thread pool through one pool of connections."""
    from concurrent.futures import ThreadPoolExecutor

    store.record([AuditRows("r", "k").event("main")])
    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(store.record, [AuditRows("r", "k").event(f"t{i}")]) for i in range(4)]
        assert [f.result() for f in done] == [1, 1, 1, 1]
        assert len(pool.submit(store.audit_rows).result()) == 5


def test_a_server_store_holds_at_most_ten_checked_connections() -> None:
    """Each API worker opens up to 5 + 5 connections to PostgreSQL (docs/deploy.md)."""
    server = AuditStore("postgresql+psycopg://flrisk@127.0.0.1:9/none")
    pool = server.engine.pool
    assert (pool.size(), pool._max_overflow, pool._pre_ping) == (5, 5, True)  # type: ignore[attr-defined]


def test_a_write_that_waited_its_limit_for_the_file_fails_and_is_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process keeps the write lock past the busy timeout: the write fails (503)."""
    monkeypatch.setattr(importlib.import_module("models.store.engine"), "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    store.create()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # and never lets go
    try:
        with pytest.raises(AuditUnavailableError) as failed:
            store.record([AuditRows("r", "k").event("e1")])  # waits 100 ms, then gives up
        assert str(failed.value) == "audit write failed: OperationalError"
    finally:
        other.close()
        store.dispose()


def test_a_chain_head_another_process_made_first_is_kept(
    store: AuditStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create()
    store.record([AuditRows("r", "k").event("e1")])
    # This process looked before the other one made the head: it tries to make it too.
    monkeypatch.setattr(audit_module, "_HEAD", audit_module._HEAD.where(text("1 = 0")))
    store._start_chain()
    with store.engine.connect() as conn:
        heads = conn.exec_driver_sql("SELECT id, last_id FROM audit_chain").all()
    assert [tuple(h) for h in heads] == [(1, 1)]
    monkeypatch.undo()
    assert store.verify().ok
