"""The audit store's write is committed: a second connection sees it, a restart keeps it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models.audit_rows import AuditRows, ModelStamp
from models.store import (
    RAW_ROWS,
    AuditStore,
    AuditUnavailableError,
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


MODEL = ModelStamp("models:/flrisk/3", "b" * 64)


def _result(entry: str, line_no: int, score: float) -> dict[str, Any]:
    return {"entry_id": entry, "line_no": line_no, "risk_score": score, "risk_band": "high",
            "reasons": [{"code": "route", "contribution": 0.5}]}  # fmt: skip


def _line(entry: str, line_no: int, hs: str = "520100") -> dict[str, Any]:
    return {"entry_id": entry, "line_no": line_no, "hts_code": hs}


def _feedback(store: AuditStore, entry: str, line_no: int, **fields: Any) -> int:
    rows = AuditRows("fb-" + entry, "officer-1")
    record = {"entry_id": entry, "line_no": line_no, "inspected": True,
              "inspection_reason": "random", "violation": 1, "outcome": None,
              "note": None}  # fmt: skip
    record.update(fields)
    return store.record_feedback(
        {"ts": rows.ts, "key_id": "officer-1", **record}, rows.feedback(entry, line_no, record)
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    s = AuditStore(f"sqlite:///{tmp_path / 'sub' / 'audit.db'}")
    yield s
    s.dispose()


def test_a_new_store_answers_pings_and_has_no_rows(store: AuditStore) -> None:
    assert store.ping() is True
    assert store.audit_rows() == [] and store.feedback_for("E-1") == []
    assert store.feedback_with_inputs() == ([], 0)
    assert store.record([]) == 0
    closed = AuditStore("postgresql+psycopg://flrisk@127.0.0.1:9/none?connect_timeout=2")
    assert closed.ping() is False  # nothing listens on port 9


def test_job_lines_are_the_scored_lines_of_that_request_in_order(store: AuditStore) -> None:
    rows = AuditRows("job-1", "k")
    lines = [_line("E-1", 1), _line("E-1", 2)]
    results = [_result("E-1", 1, 0.9), _result("E-1", 2, 0.1)]
    store.record(rows.scored("score_file", MODEL, lines, results, 2.0))
    store.record([rows.event("job_started", {"lines": 2})])
    store.record(AuditRows("job-2", "k").scored("score_file", MODEL, lines[:1], results[:1], 1))
    got = store.job_lines("job-1")
    assert got == [
        {"entry_id": "E-1", "line_no": 1, "risk_score": 0.9, "risk_band": "high",
         "reasons": [{"code": "route", "contribution": 0.5}]},
        {"entry_id": "E-1", "line_no": 2, "risk_score": 0.1, "risk_band": "high",
         "reasons": [{"code": "route", "contribution": 0.5}]},
    ]  # fmt: skip
    assert store.job_lines("job-3") == []


def test_has_scored_only_for_a_scored_or_viewed_line_with_its_input(store: AuditStore) -> None:
    rows = AuditRows("r1", "k")
    store.record(rows.scored("score", MODEL, [_line("E-1", 1)], [_result("E-1", 1, 0.5)], 1.0))
    store.record(rows.viewed("workbench_view", MODEL, [_result("E-2", 1, 0.5)]))  # no input
    store.record([rows.feedback("E-3", 1, {"entry_id": "E-3"})])  # feedback, not scoring
    assert store.has_scored("E-1", 1) is True
    assert store.has_scored("E-1", 2) is False
    assert store.has_scored("E-2", 1) is False
    assert store.has_scored("E-3", 1) is False


def test_feedback_and_its_audit_row_are_written_together(store: AuditStore) -> None:
    first = _feedback(store, "E-1", 1, violation=0, outcome="released")
    second = _feedback(store, "E-1", 2, note="seized at port")
    assert (first, second) == (1, 2)
    got = store.feedback_for("E-1")
    assert [(r["line_no"], r["violation"], r["outcome"], r["note"]) for r in got] == [
        (1, 0, "released", None),
        (2, 1, None, "seized at port"),
    ]
    assert [r["action"] for r in store.audit_rows()] == ["feedback", "feedback"]
    with pytest.raises(AuditUnavailableError, match="feedback write failed"):
        _feedback(store, "E-1", 3, inspected=None)  # NOT NULL: nothing written
    assert len(store.feedback_for("E-1")) == 2 and len(store.audit_rows()) == 2


def test_training_gets_the_latest_feedback_joined_to_the_audited_input(
    store: AuditStore,
) -> None:
    rows = AuditRows("r1", "k")
    store.record(
        rows.scored("score", MODEL, [_line("E-1", 1, "111111")], [_result("E-1", 1, 0.5)], 1)
    )
    store.record(
        rows.scored("score", MODEL, [_line("E-1", 1, "222222")], [_result("E-1", 1, 0.5)], 1)
    )
    store.record(rows.scored("score", MODEL, [_line("E-2", 1)], [_result("E-2", 1, 0.5)], 1))
    _feedback(store, "E-1", 1, violation=1)
    _feedback(store, "E-1", 1, inspection_reason="targeted", violation=0)  # the latest word
    _feedback(store, "E-2", 1, inspected=False, inspection_reason=None, violation=None)
    _feedback(store, "E-9", 1)  # never scored: no input to learn from
    got, skipped = store.feedback_with_inputs()
    assert skipped == 1
    assert sorted(got, key=lambda r: r["entry_id"]) == [
        {"entry_id": "E-1", "line_no": 1, "hts_code": "222222", "inspected": "true",
         "inspection_reason": "targeted", "violation": "0"},
        {"entry_id": "E-2", "line_no": 1, "hts_code": "520100", "inspected": "false",
         "inspection_reason": "", "violation": ""},
    ]  # fmt: skip


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
    n = RAW_ROWS + 1
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
