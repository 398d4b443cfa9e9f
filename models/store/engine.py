"""Engines and the small helpers every store module shares (time stamps, canonical JSON)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event

from models.errors import UserError
from models.json_text import canonical
from models.sqlite_file import sqlite_file

BUSY_TIMEOUT_MS = 5000  # how long a SQLite writer waits for another process's write lock


class AuditUnavailableError(UserError, RuntimeError):
    """The audit store could not be written or read."""

    hint = (
        "Check that the audit store answers (FLRISK_AUDIT_URL; default: audit.db in the data "
        "folder); `flrisk train --no-feedback` trains without the feedback it holds."
    )


def now_iso() -> str:
    """UTC timestamp, ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def canonical_json(obj: Mapping[str, Any]) -> str:
    """Stable JSON text of a line: sorted keys, no spaces, UTF-8 kept (``models.json_text``)."""
    return canonical(obj)


def input_hash(text_: str) -> str:
    """SHA-256 of a line's canonical JSON."""
    return hashlib.sha256(text_.encode()).hexdigest()


# WAL lets readers (readyz, training) run while the API appends; with WAL, NORMAL syncing
# never corrupts the file (a power cut may lose the last commits, not the file).
_SQLITE_MODES = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Wait for the writer lock instead of failing at once under concurrent requests.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    for pragma in _SQLITE_MODES:
        cur.execute(pragma)
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy opens a file database without sqlite3's same-thread check (its pool
        # hands connections to any thread).
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
