"""The workbench's state in the store: officers' sessions and scored worklists.

Sessions and worklists used to live in one server process's memory (gone on a restart, not
seen by a second worker). Here they are rows: any worker of any restart reads the same ones.
A session row is keyed by the SHA-256 of its cookie value, so a copy of the database opens
no session; a worklist row holds its scored lines as one Parquet blob (made and read by
``serving.workbench.state``), the model that scored them, and the state of their per-line
audit (``pending``, ``done``, or why it failed).

Who signed in and out and what was uploaded are audited by the workbench's routes
(``workbench_signin``, ``workbench_signout``, ``workbench_upload``); expiry and pruning here
only remove what is past its lifetime.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import metadata

workbench_sessions = Table(
    "workbench_sessions",
    metadata,
    Column("sid_hash", String(64), primary_key=True),
    Column("key_id", String(64), nullable=False, index=True),
    Column("scopes", Text, nullable=False),  # space-separated
    Column("csrf", String(64), nullable=False),
    Column("created", Float, nullable=False),
    Column("seen", Float, nullable=False, index=True),
)

workbench_worklists = Table(
    "workbench_worklists",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key_id", String(64), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("model_uri", String(256), nullable=False),
    Column("bundle_hash", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("n_read", Integer, nullable=False),
    Column("bad_rows_total", Integer, nullable=False),
    Column("created", Float, nullable=False, index=True),
    Column("audit_state", Text, nullable=False),  # pending, done, or "failed: why"
    Column("lines", LargeBinary, nullable=False),  # Parquet: the lines, scores, reasons
    Column("bad_rows", LargeBinary),  # Parquet: the first bad rows' report
)
# A worklist's description without its blobs (listing and finding read only these).
_META = [c for c in workbench_worklists.columns if c.name not in ("lines", "bad_rows")]


def sid_hash(sid: str) -> str:
    """What the store keeps of a session id: its SHA-256 (the id itself is the credential)."""
    return hashlib.sha256(sid.encode()).hexdigest()


class WorkbenchStore:
    """Sessions and worklists of the workbench, in the audit store's database."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    @contextmanager
    def _conn(self, write: bool) -> Iterator[Connection]:
        """A connection (in a transaction when writing); store errors become 503s."""
        try:
            self._store._ensure()
            engine = self._store.engine
            with engine.begin() if write else engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            what = "workbench write" if write else "workbench read"
            raise AuditUnavailableError(f"{what} failed: {type(exc).__name__}") from exc

    # ---------------------------------------------------------------- sessions

    def put_session(self, row: Mapping[str, Any], max_sessions: int) -> None:
        """Store a new session; beyond ``max_sessions``, the stalest are dropped first."""
        with self._conn(write=True) as conn:
            conn.execute(workbench_sessions.insert(), [dict(row)])
            n = conn.execute(select(func.count()).select_from(workbench_sessions)).scalar() or 0
            if n > max_sessions:
                stale = (
                    select(workbench_sessions.c.sid_hash)
                    .order_by(workbench_sessions.c.seen)
                    .limit(n - max_sessions)
                )
                ids = [r[0] for r in conn.execute(stale)]
                conn.execute(
                    delete(workbench_sessions).where(workbench_sessions.c.sid_hash.in_(ids))
                )

    def session(self, hashed: str) -> dict[str, Any] | None:
        """The session row with this hashed id, or None."""
        q = select(workbench_sessions).where(workbench_sessions.c.sid_hash == hashed)
        with self._conn(write=False) as conn:
            row = conn.execute(q).first()
        return None if row is None else dict(row._mapping)

    def touch_session(self, hashed: str, seen: float) -> None:
        """Note that the session was used at ``seen``."""
        q = (
            update(workbench_sessions)
            .where(workbench_sessions.c.sid_hash == hashed)
            .values(seen=seen)
        )
        with self._conn(write=True) as conn:
            conn.execute(q)

    def drop_session(self, hashed: str) -> None:
        """Remove a session (sign-out, expiry, a revoked key)."""
        with self._conn(write=True) as conn:
            conn.execute(delete(workbench_sessions).where(workbench_sessions.c.sid_hash == hashed))

    def expire_sessions(self, seen_before: float, created_before: float) -> int:
        """Remove sessions idle since ``seen_before`` or made before ``created_before``."""
        c = workbench_sessions.c
        q = delete(workbench_sessions).where((c.seen < seen_before) | (c.created < created_before))
        with self._conn(write=True) as conn:
            return int(conn.execute(q).rowcount or 0)

    # ---------------------------------------------------------------- worklists

    def put_worklist(self, row: Mapping[str, Any]) -> None:
        """Store a scored worklist (its id is new)."""
        with self._conn(write=True) as conn:
            conn.execute(workbench_worklists.insert(), [dict(row)])

    def worklist(self, wl_id: str) -> dict[str, Any] | None:
        """A worklist row with its blobs, or None."""
        q = select(workbench_worklists).where(workbench_worklists.c.id == wl_id)
        with self._conn(write=False) as conn:
            row = conn.execute(q).first()
        return None if row is None else dict(row._mapping)

    def worklist_meta(self, wl_id: str) -> dict[str, Any] | None:
        """A worklist's description without its blobs (its audit state, owner), or None."""
        q = select(*_META).where(workbench_worklists.c.id == wl_id)
        with self._conn(write=False) as conn:
            row = conn.execute(q).first()
        return None if row is None else dict(row._mapping)

    def find_worklist(self, key_id: str, source: str, model_uri: str) -> str | None:
        """The newest worklist of ``key_id`` scored from ``source`` by that model, or None."""
        c = workbench_worklists.c
        q = (
            select(c.id)
            .where(c.key_id == key_id, c.source == source, c.model_uri == model_uri)
            .order_by(c.created.desc())
            .limit(1)
        )
        with self._conn(write=False) as conn:
            row = conn.execute(q).first()
        return None if row is None else str(row[0])

    def worklists_of(self, key_id: str | None, limit: int = 50) -> list[dict[str, Any]]:
        """Descriptions of the newest worklists of one key (every key's for None)."""
        q = select(*_META).order_by(workbench_worklists.c.created.desc()).limit(limit)
        if key_id is not None:
            q = q.where(workbench_worklists.c.key_id == key_id)
        with self._conn(write=False) as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def set_audit_state(self, wl_id: str, state: str) -> None:
        """Record how the worklist's per-line audit ended (``done`` or ``failed: why``)."""
        q = (
            update(workbench_worklists)
            .where(workbench_worklists.c.id == wl_id)
            .values(audit_state=state[:500])
        )
        with self._conn(write=True) as conn:
            conn.execute(q)

    def prune_worklists(self, created_before: float) -> int:
        """Remove worklists made before ``created_before`` (their lines stay in the audit)."""
        q = delete(workbench_worklists).where(workbench_worklists.c.created < created_before)
        with self._conn(write=True) as conn:
            return int(conn.execute(q).rowcount or 0)
