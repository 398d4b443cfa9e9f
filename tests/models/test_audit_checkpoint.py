"""The audit write's commit leaves SQLite's checkpoint to a thread, and the thread makes it."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from models.audit_rows import AuditRows, ModelStamp
from models.store import AuditStore

checkpoint = importlib.import_module("models.store.checkpoint")
MODEL = ModelStamp("models:/flrisk/3", "b" * 64)


def _rows(request: str, n: int) -> list[Any]:
    inputs = [{"entry_id": f"E{i}", "line_no": 1, "goods_description": "x" * 900} for i in range(n)]
    results = [
        {"entry_id": f"E{i}", "line_no": 1, "risk_score": 0.5, "risk_band": "low",
         "reasons": [{"code": "route", "text": "y" * 900}]}
        for i in range(n)
    ]  # fmt: skip
    return AuditRows(request, "k").scored("score", MODEL, inputs, results, 1.0)


def _in_log(db: Path) -> tuple[int, int]:
    """Frames in the write-ahead log, and how many of them are in the database file."""
    with sqlite3.connect(db) as conn:
        _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return frames, copied


def test_a_large_audit_write_is_answered_before_its_log_is_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{db}")
    started: list[int] = []
    monkeypatch.setattr(checkpoint.Checkpointer, "checkpoint", lambda self: started.append(1))
    try:
        size = db.stat().st_size if db.exists() else 0
        assert store.record(_rows("req-1", 3000)) == 3000  # ~6 MB: past SQLite's 1,000 pages
        # The commit did not copy the log into the file (SQLite's own checkpoint would have).
        assert db.stat().st_size - size < 1_000_000
        store.checkpointer.join()
        assert started == [1]  # the thread was started instead
        # Another writer of the store still checkpoints on its commits: the default is back.
        with store.engine.connect() as conn:
            got = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert got == checkpoint.SQLITE_AUTOCHECKPOINT
    finally:
        store.dispose()


def test_the_thread_copies_the_log_into_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{db}")
    try:
        store.record(_rows("req-1", 400))
        store.checkpointer.join()
        assert not store.checkpointer.running()
        store.record(_rows("req-2", checkpoint.CHECKPOINT_ROWS))
        store.checkpointer.join()
        frames, copied = _in_log(db)
        assert frames == copied  # nothing left only in the log
        assert db.stat().st_size > 2_000_000  # the rows are in the file itself
        assert [r["request_id"] for r in store.audit_rows("req-1")][:1] == ["req-1"]
        assert store.verify().ok
    finally:
        store.dispose()
