"""Audit log and feedback store (SQLAlchemy Core): SQLite by default, PostgreSQL by URL.

Every decision the API returns is written here first, one row per scored line, in one
transaction per request; feedback (inspection outcomes) is stored beside it so that
``flrisk train`` can learn from it. The ``audit`` and ``feedback`` tables are append-only:
nothing here updates or deletes their rows. ``feedback_lines`` holds each judged line's
current status (the label in force, or under review), rewritten with every outcome. Each
audit row carries a hash chained to the row before it
(:mod:`models.audit_chain`), so a change made in the database itself is found by
``flrisk audit verify``. Writers take the chain's head in turn (``BEGIN IMMEDIATE`` on
SQLite, the head row locked on PostgreSQL), so concurrent writers never fork it.

An SQLite file removed or replaced under a running server is noticed before and after each
write (the file at the path is no longer the one opened): the write is refused, so the API
answers 503 instead of answering into a file nobody will read.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, overload

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    func,
    inspect,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from models import audit_chain as chain
from models.errors import UserError
from models.sqlite_file import OpenedFile, sqlite_file
from models.store.audit_reads import AuditReads
from models.store.checkpoint import AUTOCHECKPOINT, NO_AUTOCHECKPOINT, Checkpointer
from models.store.engine import BUSY_TIMEOUT_MS, AuditUnavailableError, make_engine
from models.store.feedback_write import FeedbackWrite
from models.store.tables import (
    HASHED,
    audit,
    audit_head,
    feedback,
    metadata,
)

_THE_HEAD = audit_head.c.id == literal_column("1")
_HEAD = select(audit_head).where(_THE_HEAD)
# Writers wait their turn on this row on a server; SQLite's BEGIN IMMEDIATE does it there.
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_LAST_ID = select(func.max(audit.c.id))
_INSERT = audit.insert()  # every column: a chained row has them all
_MOVE_HEAD = (
    update(audit_head)
    .where(_THE_HEAD)
    .values(last_id=bindparam("last_id"), last_hash=bindparam("last_hash"))
)
# The readiness probe's row: it is rolled back, so its values need only be valid.
_PROBE_ROW: dict[str, Any] = {
    **dict.fromkeys(HASHED), "request_id": "readyz", "ts": "", "key_id": "-",
    "action": "readyz_probe",
}  # fmt: skip

# Appends audit rows inside a transaction and returns their ids (see AuditStore.audited).
Append = Callable[[Iterable[Mapping[str, Any]]], list[int]]

# PostgreSQL advisory lock taken by feedback writes: a line's status is computed from all its
# records, so two outcomes for one line must not be resolved side by side.
FEEDBACK_LOCK = 0x666C726B


class _BusyError(Exception):
    """Another process holds the SQLite write lock and the caller would not wait."""


class AuditStore(AuditReads):
    """Append-only, hash-chained audit log and feedback records behind one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._ready = False
        self._lock = threading.Lock()
        self._sql: dict[Any, tuple[str, tuple[str, ...] | None]] = {}
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        # SQLite has one writer at a time; a writer that finds the file locked sleeps in its
        # busy handler (milliseconds to tens of ms). Writers of this process queue here
        # instead, which costs microseconds. PostgreSQL writers queue on the chain's head row.
        self._sqlite_writer = threading.Lock() if url.startswith("sqlite") else None
        self.checkpointer = Checkpointer(self.engine.raw_connection)
        path = sqlite_file(url)
        self._file = OpenedFile(path) if path is not None else None

    def create(self) -> None:
        """Create the tables if they do not exist, add newer columns, start the chain (idempotent).

        An ``audit`` table made before the hash chain gets its two hash columns; its rows
        stay as they are and the chain starts at the row after its last (``flrisk audit
        verify`` says so). A store that has all this is only read (the API's database role
        may hold no more than docs/reliability.md grants it).
        """
        with self._lock:
            metadata.create_all(self.engine)
            self._add_columns(feedback)
            self._add_columns(audit)  # the hash columns, on a store from before the chain
            self._start_chain()
            if self._file is not None:
                self._file.opened()
            self._ready = True

    def _add_columns(self, table: Table) -> None:
        """Add the nullable columns a store made by an older version lacks."""
        have = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
        for col in (c for c in table.columns if c.name not in have):
            ddl = col.type.compile(dialect=self.engine.dialect)
            # Another process may add it first; a column still missing fails the writes (503).
            with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {ddl}"))

    def _start_chain(self) -> None:
        """Give a store without the chain's head one: the chain starts after its last row."""
        with self.engine.connect() as conn:
            if conn.execute(_HEAD).first() is not None:
                return
        # Until the head exists, no audit write can be made; another process may make it first.
        with contextlib.suppress(IntegrityError), self.engine.begin() as conn:
            last = conn.execute(_LAST_ID).scalar() or 0
            start = {"chain_start": last + 1, "last_id": last, "last_hash": chain.GENESIS}
            conn.execute(audit_head.insert(), {"id": 1, **start})

    def _ensure(self) -> None:
        if not self._ready:
            self.create()

    def ensure(self) -> None:
        """Create the tables unless this store did already (for the other resources)."""
        self._ensure()

    def file_problem(self) -> str | None:
        """Why the SQLite file opened is not at its path any more (None: it is, or a server)."""
        return self._file.problem() if self._file is not None else None

    def create_once(self) -> None:
        """Create the tables on first use (for the resource modules' reads)."""
        self._ensure()

    def _check_file(self) -> None:
        """Raise ``AuditUnavailableError`` when the SQLite file opened is no longer at its path."""
        problem = self._file.problem() if self._file is not None else None
        if problem:
            raise AuditUnavailableError(problem)

    def probe(self) -> str | None:
        """Why an audit write would fail now, or None: one row written and rolled back.

        The probe takes the path of every audit write (the file check, the chain's head, the
        insert, the head's update), then rolls back: it leaves no row and takes no id.
        """
        try:
            self._write("audit write", [_PROBE_ROW], commit=False)
        except AuditUnavailableError as exc:
            return str(exc)
        return None

    @overload
    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: Literal[True] = ...) -> int: ...

    @overload
    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: bool) -> int | None: ...

    def record(self, rows: Iterable[Mapping[str, Any]], *, wait: bool = True) -> int | None:
        """Append audit rows (dicts with the same keys) to the chain in one transaction.

        The rows go straight to the driver, the statements compiled once by SQLAlchemy for
        the dialect: for the one row of a scored line, SQLAlchemy's execution machinery
        cost several times the write itself.

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
            AuditUnavailableError: The write failed, or the SQLite file was removed or
                replaced; nothing was recorded where it will be read.
        """
        batch = list(rows)
        if not batch:
            return 0
        if not wait and self._sqlite_writer is None:
            return None
        try:
            self._write("audit write", batch, wait=wait)
        except _BusyError:
            return None
        return len(batch)

    def _write(
        self,
        what: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        wait: bool = True,
        commit: bool = True,
        then: Callable[[Any], Any] = lambda _cur: None,
    ) -> Any:
        """Append ``rows`` to the chain, then run ``then(cursor)``, in one transaction.

        The SQLite file is checked before (nothing is written into a removed file) and after
        (the rows went into the file at the path, not one removed meanwhile). The rows'
        canonical JSON is made before the writer's lock is taken.

        Returns:
            What ``then`` returned.

        Raises:
            AuditUnavailableError: ``what`` failed, or the file is not the one opened.
            _BusyError: ``wait`` is False and another writer holds the lock.
        """
        try:
            prepared = chain.prepare(rows, HASHED)
            self._ensure()
            self._check_file()
            with self._transaction(wait=wait, commit=commit) as cur:
                self._append(cur, prepared)
                result = then(cur)
            self._check_file()
            if commit and self._sqlite_writer is not None:
                self.checkpointer.written(len(prepared))
        except (SQLAlchemyError, self._dbapi_error, KeyError, ValueError, TypeError) as exc:
            raise AuditUnavailableError(f"{what} failed: {type(exc).__name__}") from exc
        return result

    @contextlib.contextmanager
    def _transaction(self, *, wait: bool, commit: bool = True) -> Iterator[Any]:
        """A driver cursor in a transaction that is the only audit writer until it ends.

        SQLite: this process's writers queue on a lock, then ``BEGIN IMMEDIATE`` takes the
        file's write lock (other processes wait). With ``wait`` False, either being taken
        raises :class:`_BusyError` at once. PostgreSQL: :meth:`_append` locks the chain's
        head row. Committed, or rolled back with ``commit`` False; after an error the pool
        rolls the connection back on its return.
        """
        lock = self._sqlite_writer
        if lock is not None and not lock.acquire(blocking=wait):
            raise _BusyError
        with contextlib.ExitStack() as held:  # released last to first
            if lock is not None:
                held.callback(lock.release)
            conn = self.engine.raw_connection()
            held.callback(conn.close)
            cur = held.enter_context(contextlib.closing(conn.cursor()))
            if lock is not None:
                # The log's checkpoint is left to a thread (models.store.checkpoint).
                cur.execute(NO_AUTOCHECKPOINT)
                held.callback(cur.execute, AUTOCHECKPOINT)
                self._begin_immediate(cur, wait)
            yield cur
            if commit:
                conn.commit()
            else:
                conn.rollback()

    def _begin_immediate(self, cur: Any, wait: bool) -> None:
        if not wait:  # fail at once if another process holds the lock
            cur.execute("PRAGMA busy_timeout=0")
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # only SQLite takes this path
            if not wait and exc.sqlite_errorname == "SQLITE_BUSY":
                raise _BusyError from exc
            raise
        finally:
            if not wait:
                cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def _append(
        self, cur: Any, prepared: Sequence[tuple[dict[str, Any], str | bytes]]
    ) -> list[dict[str, Any]]:
        """Chain prepared rows onto the head and insert them, inside :meth:`_transaction`.

        Ids are given here, after the largest of the head's last id and the table's: the
        chain stays gapless, and a row written past the store is never overwritten.
        """
        cur.execute(self._compiled(_HEAD_FOR_UPDATE)[0])
        head = cur.fetchone()  # id, chain_start, last_id, last_hash
        if head is None:
            raise AuditUnavailableError("the audit chain's head row is missing")
        cur.execute(self._compiled(_LAST_ID)[0])
        last_id = max(int(head[2]), int(cur.fetchone()[0] or 0))
        chained = chain.extend(prepared, last_id, str(head[3]))
        sql, order = self._compiled(_INSERT)
        cur.executemany(sql, chained if order is None else list(map(itemgetter(*order), chained)))
        sql, order = self._compiled(_MOVE_HEAD)
        last = chained[-1]
        cur.execute(sql, _params(order, {"last_id": last["id"], "last_hash": last["row_hash"]}))
        return chained

    def _compiled(
        self, stmt: Any, columns: tuple[str, ...] | None = None
    ) -> tuple[str, tuple[str, ...] | None]:
        """A statement in the driver's parameter style, compiled once per store.

        Args:
            stmt: A statement made once (a module's constant): the cache's key.
            columns: The columns an insert takes (default: every column of the table).

        Returns:
            The SQL and, for positional styles, the order of its parameters.
        """
        found = self._sql.get(stmt)
        if found is None:
            keys = list(columns) if columns is not None else None
            compiled = stmt.compile(dialect=self.engine.dialect, column_keys=keys)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._sql[stmt] = (compiled.string, order)
        return found

    @contextlib.contextmanager
    def feedback_write(self, entry_id: str, line_no: int) -> Iterator[FeedbackWrite]:
        """One transaction writing a line's feedback record, its status and its audit rows.

        Feedback writes are serialised (see :meth:`audited`), so the status computed from
        the line's records sees every record committed before.

        Raises:
            AuditUnavailableError: The write failed, or the SQLite file is not the one
                opened; nothing was recorded.
        """
        with self.audited("feedback write") as (conn, append):
            yield FeedbackWrite(conn, entry_id, line_no, append)

    @contextlib.contextmanager
    def audited(self, what: str) -> Iterator[tuple[Connection, Append]]:
        """One transaction of officers' work (feedback, tips, cases) and its audit rows.

        These writes are serialised (the SQLite writer and ``BEGIN IMMEDIATE``, a
        PostgreSQL advisory lock, taken before the chain's head): a write that reads a
        state (a line's records, a case's status) and changes it sees every write committed
        before. Yields the connection and a function appending audit rows to the chain in
        its transaction (it returns their ids).

        Raises:
            AuditUnavailableError: The write failed, or the SQLite file is not the one
                opened; nothing was recorded.
        """
        try:
            self._ensure()
            self._check_file()
            with self._sqlite_writer or contextlib.nullcontext(), self.engine.begin() as conn:
                if self._sqlite_writer is not None:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEEDBACK_LOCK})
                yield conn, self._append_on(conn)
            self._check_file()
        except UserError:
            raise  # the caller's refusal (a closed case...): rolled back, said as it is
        except (SQLAlchemyError, self._dbapi_error, KeyError, ValueError, TypeError) as exc:
            raise AuditUnavailableError(f"{what} failed: {type(exc).__name__}") from exc

    def _append_on(self, conn: Connection) -> Append:
        """Appending audit rows to the chain in ``conn``'s transaction (its driver cursor)."""

        def append(rows: Iterable[Mapping[str, Any]]) -> list[int]:
            prepared = chain.prepare(rows, HASHED)
            with contextlib.closing(conn.connection.cursor()) as cur:
                return [int(r["id"]) for r in self._append(cur, prepared)]

        return append

    def verify(self, noted: str | None = None) -> chain.Verdict:
        """Walk the audit log's hash chain; read-only (nothing is created or migrated).

        ``noted``: a head hash noted earlier outside the database; the chain must pass
        through it.

        The head and the rows are read in one snapshot, so rows written meanwhile by a
        running server are neither missed nor taken for tampering.

        Raises:
            AuditUnavailableError: There is no audit database there, or it cannot be read.
        """
        if self._file is not None and not self._file.path.is_file():
            raise AuditUnavailableError(f"no audit database file at {self._file.path}")
        try:
            with self.engine.connect() as conn:
                if self._sqlite_writer is not None:
                    conn.exec_driver_sql("BEGIN")  # a read transaction: one WAL snapshot
                else:
                    conn.execution_options(isolation_level="REPEATABLE READ")
                tables = set(inspect(conn).get_table_names())
                head = None
                if audit_head.name in tables:
                    h = conn.execute(_HEAD).first()
                    head = chain.ChainHead(h.chain_start, h.last_id, h.last_hash) if h else None
                if audit.name not in tables:
                    return chain.Verdict(0, 0, head)
                have = {c["name"] for c in inspect(conn).get_columns(audit.name)}
                q = select(*(c for c in audit.columns if c.name in have)).order_by(audit.c.id)
                rows = conn.execution_options(yield_per=5000).execute(q)
                # A column not added yet (verify migrates nothing) is NULL in every row: left
                # out of the hashed text either way.
                kinds = {k: t for k, t in HASHED.items() if k in have}
                return chain.verify((r._mapping for r in rows), head, kinds, noted)
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"audit read failed: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        """Close pooled connections (after a running checkpoint)."""
        self.checkpointer.join()
        self.engine.dispose()


def _params(order: tuple[str, ...] | None, values: Mapping[str, Any]) -> Any:
    """Driver parameters: a tuple in ``order`` for positional styles, else the mapping."""
    return values if order is None else tuple(values[k] for k in order)
