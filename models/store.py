"""Audit log and feedback store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL.

Every decision the API returns is written here first, one row per scored line, in one
transaction per request; feedback (inspection outcomes) is stored beside it so that
``flrisk train`` can learn from it. The ``audit`` and ``feedback`` tables are append-only:
nothing here updates or deletes their rows. ``feedback_lines`` holds each judged line's
current status (the label in force, or under review), rewritten with every outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
    select,
    text,
    update,
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
    # The scored decision judged: the input hash of an audited scoring of this line (null
    # on records from before decision ids), and who judged it (workbench or api).
    Column("decision_id", String(64)),
    Column("source", String(16)),
)

# One row per judged line: its status (``labelled`` or ``review``) and the feedback record
# in force (null under review). Rewritten, in the same transaction, with every new record.
feedback_lines = Table(
    "feedback_lines",
    metadata,
    Column("entry_id", String(128), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("feedback_id", Integer),
    Column("records", Integer, nullable=False),
    Column("ts", String(32), nullable=False),
)

BUSY_TIMEOUT_MS = 5000  # how long a SQLite writer waits for another process's write lock
RAW_ROWS = 64  # batches up to this size are written through the driver (see AuditStore.record)

# Actions whose rows carry a scored input line (feedback rows carry the feedback itself).
SCORING_ACTIONS = ("score", "score_file")
# PostgreSQL advisory lock taken by feedback writes: a line's status is computed from all its
# records, so two outcomes for one line must not be resolved side by side.
FEEDBACK_LOCK = 0x666C726B


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
        """Create the tables if they do not exist, add feedback's newer columns (idempotent)."""
        with self._lock:
            metadata.create_all(self.engine)
            self._add_columns(feedback)
            self._ready = True

    def _add_columns(self, table: Table) -> None:
        """Add the nullable columns a store made by an older version lacks."""
        have = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
        for col in (c for c in table.columns if c.name not in have):
            ddl = col.type.compile(dialect=self.engine.dialect)
            # Another process may add it first; a column still missing fails the writes (503).
            with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {ddl}"))

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

    @contextlib.contextmanager
    def feedback_write(self, entry_id: str, line_no: int) -> Iterator[FeedbackWrite]:
        """One transaction writing a line's feedback record, its status and its audit rows.

        Feedback writes are serialised (the SQLite writer, a PostgreSQL advisory lock), so
        the status computed from the line's records sees every record committed before.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        try:
            self._ensure()
            with self._writing, self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEEDBACK_LOCK})
                yield FeedbackWrite(conn, entry_id, line_no)
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"feedback write failed: {type(exc).__name__}") from exc

    def has_decision(self, entry_id: str, line_no: int, decision_id: str) -> bool:
        """Whether this line was scored (and audited) with input hash ``decision_id``."""
        q = (
            select(audit.c.id)
            .where(audit.c.entry_id == entry_id, audit.c.line_no == line_no)
            .where(audit.c.input_hash == decision_id)
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
        """The feedback records of one entry, oldest first, each with its line's ``status``."""
        self._ensure()
        q = (
            select(feedback, feedback_lines.c.status.label("line_status"),
                   feedback_lines.c.feedback_id.label("in_force"))
            .join(feedback_lines, (feedback_lines.c.entry_id == feedback.c.entry_id)
                  & (feedback_lines.c.line_no == feedback.c.line_no), isouter=True)
            .where(feedback.c.entry_id == entry_id)
            .order_by(feedback.c.id)
        )  # fmt: skip
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
                   audit.c.reasons_json, audit.c.input_hash)
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
                "decision_id": r.input_hash,
                "risk_score": float(r.risk_score),
                "risk_band": str(r.risk_band),
                "reasons": json.loads(r.reasons_json)["reasons"] if r.reasons_json else [],
            }
            for r in rows
        ]

    def feedback_for_training(
        self,
    ) -> tuple[list[dict[str, Any]], dict[tuple[str, int], dict[str, Any]], list[dict[str, Any]]]:
        """Everything training needs to turn feedback into labelled lines.

        Returns:
            ``(records, statuses, inputs)``: every feedback record (oldest first); each
            judged line's status row by ``(entry_id, line_no)``; and the audited scored
            inputs (``entry_id, line_no, input_hash, ts, input_json``, oldest first) of the
            entries that have feedback.
        """
        self._ensure()
        with self.engine.connect() as conn:
            records = [
                dict(r._mapping) for r in conn.execute(select(feedback).order_by(feedback.c.id))
            ]
            if not records:
                return [], {}, []
            statuses = {
                (str(r.entry_id), int(r.line_no)): dict(r._mapping)
                for r in conn.execute(select(feedback_lines))
            }
            q = (
                select(audit.c.entry_id, audit.c.line_no, audit.c.input_hash, audit.c.ts,
                       audit.c.input_json)
                .where(audit.c.input_json.is_not(None))
                .where(audit.c.action.in_(SCORING_ACTIONS) | audit.c.action.like("workbench_%"))
                .where(audit.c.entry_id.in_(sorted({r["entry_id"] for r in records})))
                .order_by(audit.c.id)
            )  # fmt: skip
            inputs = [dict(r._mapping) for r in conn.execute(q)]
        return records, statuses, inputs

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


class FeedbackWrite:
    """A line's feedback inside one transaction (see :meth:`AuditStore.feedback_write`)."""

    def __init__(self, conn: Connection, entry_id: str, line_no: int) -> None:
        self._conn = conn
        self.entry_id = entry_id
        self.line_no = line_no

    def add(self, record: Mapping[str, Any]) -> int:
        """Append one feedback record of this line; return its id.

        Called before :meth:`records`: on SQLite the write takes the file's write lock first,
        so the records read next are the latest.
        """
        pk = self._conn.execute(feedback.insert(), [dict(record)]).inserted_primary_key
        return int(pk[0]) if pk else 0

    def records(self) -> list[dict[str, Any]]:
        """The line's feedback records, oldest first."""
        q = (
            select(feedback)
            .where(feedback.c.entry_id == self.entry_id, feedback.c.line_no == self.line_no)
            .order_by(feedback.c.id)
        )
        return [dict(r._mapping) for r in self._conn.execute(q)]

    def set_status(self, status: str, feedback_id: int | None, records: int, ts: str) -> None:
        """Set the line's status and the record in force."""
        values = {"status": status, "feedback_id": feedback_id, "records": records, "ts": ts}
        key = (feedback_lines.c.entry_id == self.entry_id) & (
            feedback_lines.c.line_no == self.line_no
        )
        if not self._conn.execute(update(feedback_lines).where(key).values(**values)).rowcount:
            row = {"entry_id": self.entry_id, "line_no": self.line_no, **values}
            self._conn.execute(feedback_lines.insert(), [row])

    def audit(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append the audit rows of this write."""
        self._conn.execute(audit.insert(), [dict(r) for r in rows])
