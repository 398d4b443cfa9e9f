"""Audit log and feedback store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL.

Every decision the API returns is written here first, one row per scored line, in one
transaction per request; feedback (inspection outcomes) is stored beside it so that
``flrisk train`` can learn from it. The ``audit`` table is append-only: nothing here updates
or deletes a row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from models.errors import UserError

metadata = MetaData()

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("ts", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("entry_id", String(128), index=True),
    Column("line_no", Integer),
    Column("input_hash", String(64)),
    Column("input_json", Text),
    Column("model_version", String(256)),
    Column("bundle_hash", String(64)),
    Column("risk_score", Float),
    Column("risk_band", String(16)),
    Column("reasons_json", Text),
    Column("latency_ms", Float),
    Column("action", String(32), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("entry_id", String(128), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("inspected", Boolean, nullable=False),
    Column("inspection_reason", String(16)),
    Column("violation", Integer),
    Column("outcome", String(64)),
    Column("note", Text),
)

BUSY_TIMEOUT_MS = 5000  # how long a SQLite writer waits for another process's write lock
RAW_ROWS = 64  # batches up to this size are written through the driver (see AuditStore.record)

# Actions whose rows carry a scored input line (feedback rows carry the feedback itself).
SCORING_ACTIONS = ("score", "score_file")


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
    """Stable JSON text of a line: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def input_hash(text_: str) -> str:
    """SHA-256 of a line's canonical JSON."""
    return hashlib.sha256(text_.encode()).hexdigest()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (readyz, training) run while the API appends; busy_timeout waits for
    # the writer lock instead of failing at once under concurrent requests.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class AuditStore:
    """Append-only audit log and feedback records behind one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._ready = False
        self._lock = threading.Lock()
        self._inserts: dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]] = {}
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        # SQLite has one writer at a time; a writer that finds the file locked sleeps in its
        # busy handler (milliseconds to tens of ms). Writers of this process queue here
        # instead, which costs microseconds. PostgreSQL takes concurrent inserts.
        self._sqlite_writer = threading.Lock() if url.startswith("sqlite") else None
        self._writing: AbstractContextManager[Any] = self._sqlite_writer or contextlib.nullcontext()

    def create(self) -> None:
        """Create the tables if they do not exist (idempotent)."""
        with self._lock:
            metadata.create_all(self.engine)
            self._ready = True

    def _ensure(self) -> None:
        if not self._ready:
            self.create()

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    @overload
    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: Literal[True] = ...) -> int: ...

    @overload
    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: bool) -> int | None: ...

    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: bool = True) -> int | None:
        """Append audit rows (dicts with the same keys) in one transaction.

        A few rows go straight to the driver, their INSERT compiled once by SQLAlchemy for
        the dialect: for the one row of a scored line, SQLAlchemy's execution machinery
        cost several times the write itself. Many rows take SQLAlchemy's batching.

        Args:
            rows: The audit rows.
            wait: False to give up, writing nothing, rather than wait for another writer: a
                thread of this process, or another process holding the SQLite file's write
                lock. A database server is never written without waiting (its round trip
                has no bound here).

        Returns:
            The number of rows written; None when ``wait`` is False and the write would
            have waited.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        batch = list(rows)
        if not batch:
            return 0
        writer = self._sqlite_writer
        if not wait and writer is None:
            return None
        try:
            self._ensure()
            if wait and len(batch) > RAW_ROWS:
                with self._writing, self.engine.begin() as conn:
                    conn.execute(audit.insert(), batch)
                return len(batch)
            sql, keys = self._insert_sql(tuple(batch[0]))
            values = [tuple(r[k] for k in keys) for r in batch] if keys else batch
            if wait:
                with self._writing:
                    return self._write(sql, values, wait=True)
            assert writer is not None  # checked above: only SQLite writes without waiting
            if not writer.acquire(blocking=False):
                return None
            try:
                return self._write(sql, values, wait=False)
            finally:
                writer.release()
        except (SQLAlchemyError, self._dbapi_error, KeyError) as exc:
            raise AuditUnavailableError(f"audit write failed: {type(exc).__name__}") from exc

    def _write(self, sql: str, values: list[Any], *, wait: bool) -> int | None:
        """``executemany`` on a pooled driver connection, committed; see :meth:`record`."""
        conn = self.engine.raw_connection()
        try:
            with contextlib.closing(conn.cursor()) as cur:
                if not wait:  # SQLite: fail at once if another process holds the lock
                    cur.execute("PRAGMA busy_timeout=0")
                try:
                    cur.executemany(sql, values)
                    conn.commit()
                except self._dbapi_error as exc:
                    if not wait and getattr(exc, "sqlite_errorname", "") == "SQLITE_BUSY":
                        return None  # the pool rolls the connection back on its return
                    raise
                finally:
                    if not wait:
                        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            conn.close()
        return len(values)

    def _insert_sql(self, columns: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
        """The audit INSERT for ``columns`` in the driver's own parameter style, compiled once.

        Returns the SQL and, for positional styles, the column order of its parameters.
        """
        found = self._inserts.get(columns)
        if found is None:
            dialect = self.engine.dialect
            compiled = audit.insert().compile(dialect=dialect, column_keys=list(columns))
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._inserts[columns] = (compiled.string, order)
        return found

    def record_feedback(self, item: Mapping[str, Any], audit_row: Mapping[str, Any]) -> int:
        """Store one feedback record and its audit row in one transaction; return its id.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        try:
            self._ensure()
            with self._writing, self.engine.begin() as conn:
                result = conn.execute(feedback.insert(), [dict(item)])
                conn.execute(audit.insert(), [dict(audit_row)])
                pk = result.inserted_primary_key
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"feedback write failed: {type(exc).__name__}") from exc
        return int(pk[0]) if pk else 0

    def has_scored(self, entry_id: str, line_no: int) -> bool:
        """Whether a line was ever scored (and audited) through the API."""
        q = (
            select(audit.c.id)
            .where(audit.c.entry_id == entry_id, audit.c.line_no == line_no)
            .where(audit.c.action.in_(SCORING_ACTIONS) | audit.c.action.like("workbench_%"))
            .where(audit.c.input_json.is_not(None))
            .limit(1)
        )
        try:
            self._ensure()
            with self.engine.connect() as conn:
                return conn.execute(q).first() is not None
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"audit read failed: {type(exc).__name__}") from exc

    def feedback_for(self, entry_id: str) -> list[dict[str, Any]]:
        """The feedback records of one entry, oldest first (every line, every officer)."""
        self._ensure()
        q = select(feedback).where(feedback.c.entry_id == entry_id).order_by(feedback.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def audit_rows(self, request_id: str | None = None) -> list[dict[str, Any]]:
        """Audit rows, oldest first (optionally of one request): for tests and reviews."""
        self._ensure()
        q = select(audit).order_by(audit.c.id)
        if request_id is not None:
            q = q.where(audit.c.request_id == request_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def job_lines(self, request_id: str) -> list[dict[str, Any]]:
        """The scored lines audited under ``request_id`` (to resume a job without rescoring).

        Returns:
            ``entry_id, line_no, risk_score, risk_band, reasons`` per audited line.

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        q = (
            select(audit.c.entry_id, audit.c.line_no, audit.c.risk_score, audit.c.risk_band,
                   audit.c.reasons_json)
            .where(audit.c.request_id == request_id, audit.c.action.in_(SCORING_ACTIONS))
            .order_by(audit.c.id)
        )  # fmt: skip
        try:
            self._ensure()
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"audit read failed: {type(exc).__name__}") from exc
        return [
            {
                "entry_id": str(r.entry_id),
                "line_no": int(r.line_no),
                "risk_score": float(r.risk_score),
                "risk_band": str(r.risk_band),
                "reasons": json.loads(r.reasons_json)["reasons"] if r.reasons_json else [],
            }
            for r in rows
        ]

    def feedback_with_inputs(self) -> tuple[list[dict[str, Any]], int]:
        """Latest feedback per line joined with the latest audited input of that line.

        Returns:
            ``(rows, skipped)``: each row is the input line (dict of text) plus the label
            fields; ``skipped`` counts lines with feedback but no audited input.
        """
        self._ensure()
        with self.engine.connect() as conn:
            fb = conn.execute(select(feedback).order_by(feedback.c.id)).all()
            latest_fb: dict[tuple[str, int], Any] = {}
            for r in fb:  # later rows win: the officer's latest word on a line
                latest_fb[(r.entry_id, int(r.line_no))] = r
            if not latest_fb:
                return [], 0
            q = (
                select(audit.c.entry_id, audit.c.line_no, audit.c.input_json)
                .where(audit.c.input_json.is_not(None))
                .where(audit.c.action.in_(SCORING_ACTIONS) | audit.c.action.like("workbench_%"))
                .where(audit.c.entry_id.in_(sorted({k[0] for k in latest_fb})))
                .order_by(audit.c.id)
            )
            inputs: dict[tuple[str, int], str] = {}
            for r in conn.execute(q):
                inputs[(r.entry_id, int(r.line_no))] = r.input_json
        rows, skipped = [], 0
        for key, f in latest_fb.items():
            raw = inputs.get(key)
            if raw is None:
                skipped += 1
                continue
            line = json.loads(raw)
            line.update(
                inspected="true" if f.inspected else "false",
                inspection_reason=f.inspection_reason or "",
                violation="" if f.violation is None else str(int(f.violation)),
            )
            rows.append(line)
        return rows, skipped

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
