"""The audit store's write is committed: a second connection sees it, a restart keeps it."""

from __future__ import annotations

from pathlib import Path

from models.audit_rows import AuditRows
from models.store import AuditStore


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
