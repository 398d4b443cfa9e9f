"""Cases in the store: a case, its lines, linked tips, its events (the trail) and documents.

Every change to a case is one transaction with its audit row (:meth:`AuditStore.audited
<models.store.audit.AuditStore.audited>`); the case's event row keeps the id of that audit
row, so a case's trail is read with each step's place in the hash chain. Documents are kept
in the store (their bytes, SHA-256 and size), so a case survives a restart whole. What a
case means (its status flow, its outcome as labels) lives in :mod:`models.cases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    select,
    update,
)

from models.store.audit import AuditStore
from models.store.tables import SCORING_ACTIONS, audit, metadata

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(256), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("owner", String(64), nullable=False),
    Column("inspection_reason", String(16), nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("closed_at", String(32)),
    # Officers' dates for the flow (as the paperwork has them), by status: JSON object.
    Column("dates_json", Text, nullable=False),
)

case_lines = Table(
    "case_lines",
    metadata,
    Column("case_id", Integer, primary_key=True),
    Column("entry_id", String(128), primary_key=True, index=True),
    Column("line_no", Integer, primary_key=True),
    Column("decision_id", String(64), nullable=False),
)

case_tips = Table(
    "case_tips",
    metadata,
    Column("case_id", Integer, primary_key=True),
    Column("tip_id", Integer, primary_key=True, index=True),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False, index=True),
    Column("ts", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("audit_id", Integer),
)

case_documents = Table(
    "case_documents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, nullable=False, index=True),
    Column("name", String(256), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("ts", String(32), nullable=False),
)

_DOC_META = [c for c in case_documents.columns if c.name != "content"]


class CaseStore:
    """Queries over the cases tables of one :class:`AuditStore`."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def write(self, what: str) -> Any:
        """An audited transaction (``(conn, append)``) for a case's change."""
        return self.store.audited(what)

    @staticmethod
    def insert(conn: Connection, case: Mapping[str, Any]) -> int:
        """Insert a case row; return its id."""
        pk = conn.execute(cases.insert(), [dict(case)]).inserted_primary_key
        return int(pk[0]) if pk else 0

    @staticmethod
    def set_fields(conn: Connection, case_id: int, values: Mapping[str, Any]) -> None:
        """Update a case's fields."""
        conn.execute(update(cases).where(cases.c.id == case_id).values(**values))

    @staticmethod
    def add_lines(conn: Connection, case_id: int, lines: Sequence[Mapping[str, Any]]) -> None:
        """Link lines (``entry_id, line_no, decision_id``) to a case."""
        if lines:
            conn.execute(case_lines.insert(), [{**dict(ln), "case_id": case_id} for ln in lines])

    @staticmethod
    def add_tips(conn: Connection, case_id: int, tip_ids: Sequence[int]) -> None:
        """Link tips to a case."""
        if tip_ids:
            conn.execute(case_tips.insert(), [{"case_id": case_id, "tip_id": t} for t in tip_ids])

    @staticmethod
    def add_event(conn: Connection, event: Mapping[str, Any]) -> None:
        """Append one event of a case's trail."""
        conn.execute(case_events.insert(), [dict(event)])

    @staticmethod
    def add_document(conn: Connection, doc: Mapping[str, Any]) -> int:
        """Store a document of a case; return its id."""
        pk = conn.execute(case_documents.insert(), [dict(doc)]).inserted_primary_key
        return int(pk[0]) if pk else 0

    def get(self, case_id: int, conn: Connection | None = None) -> dict[str, Any] | None:
        """A case with its lines, tips, documents (without bytes) and trail, or None."""
        if conn is None:
            self.store._ensure()
            with self.store.engine.connect() as c:
                return self.get(case_id, c)
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            return None
        case = dict(row._mapping)
        case["lines"] = [
            dict(r._mapping)
            for r in conn.execute(
                select(case_lines.c.entry_id, case_lines.c.line_no, case_lines.c.decision_id)
                .where(case_lines.c.case_id == case_id)
                .order_by(case_lines.c.entry_id, case_lines.c.line_no)
            )
        ]
        case["tip_ids"] = [
            int(r[0])
            for r in conn.execute(
                select(case_tips.c.tip_id)
                .where(case_tips.c.case_id == case_id)
                .order_by(case_tips.c.tip_id)
            )
        ]
        case["documents"] = [
            dict(r._mapping)
            for r in conn.execute(
                select(*_DOC_META)
                .where(case_documents.c.case_id == case_id)
                .order_by(case_documents.c.id)
            )
        ]
        trail = (
            select(case_events, audit.c.row_hash)
            .join(audit, audit.c.id == case_events.c.audit_id, isouter=True)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.id)
        )
        case["trail"] = [dict(r._mapping) for r in conn.execute(trail)]
        return case

    def recent(self, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Cases, most recently changed first, optionally of one status."""
        q = select(cases).order_by(cases.c.updated_at.desc(), cases.c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(cases.c.status == status)
        self.store._ensure()
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def of_lines(self, entry_id: str, line_no: int | None = None) -> list[dict[str, Any]]:
        """Cases holding lines of an entry (or one line), newest first."""
        ids = select(case_lines.c.case_id).where(case_lines.c.entry_id == entry_id)
        if line_no is not None:
            ids = ids.where(case_lines.c.line_no == line_no)
        q = select(cases).where(cases.c.id.in_(ids)).order_by(cases.c.id.desc())
        self.store._ensure()
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def of_entries(self, entry_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Cases holding lines of any of these entries, newest first."""
        ids = select(case_lines.c.case_id).where(case_lines.c.entry_id.in_(list(entry_ids)))
        q = select(cases).where(cases.c.id.in_(ids)).order_by(cases.c.id.desc())
        self.store._ensure()
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def of_tip(self, tip_id: int) -> list[dict[str, Any]]:
        """Cases a tip is linked to, newest first."""
        ids = select(case_tips.c.case_id).where(case_tips.c.tip_id == tip_id)
        q = select(cases).where(cases.c.id.in_(ids)).order_by(cases.c.id.desc())
        self.store._ensure()
        with self.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def latest_decision(conn: Connection, entry_id: str, line_no: int) -> str | None:
        """The input hash of the line's latest audited scoring (its decision id), or None."""
        q = (
            select(audit.c.input_hash)
            .where(audit.c.entry_id == entry_id, audit.c.line_no == line_no)
            .where(audit.c.action.in_(SCORING_ACTIONS) | audit.c.action.like("workbench_%"))
            .where(audit.c.input_json.is_not(None))
            .order_by(audit.c.id.desc())
            .limit(1)
        )
        found = conn.execute(q).scalar()
        return str(found) if found else None

    @staticmethod
    def has_decision(conn: Connection, entry_id: str, line_no: int, decision_id: str) -> bool:
        """Whether the line was scored (and audited) with input hash ``decision_id``."""
        q = (
            select(audit.c.id)
            .where(audit.c.entry_id == entry_id, audit.c.line_no == line_no)
            .where(audit.c.input_hash == decision_id)
            .where(audit.c.action.in_(SCORING_ACTIONS) | audit.c.action.like("workbench_%"))
            .where(audit.c.input_json.is_not(None))
            .limit(1)
        )
        return conn.execute(q).first() is not None

    def document(self, case_id: int, doc_id: int) -> dict[str, Any] | None:
        """One document of a case with its bytes, or None."""
        q = select(case_documents).where(
            case_documents.c.case_id == case_id, case_documents.c.id == doc_id
        )
        self.store._ensure()
        with self.store.engine.connect() as conn:
            row = conn.execute(q).first()
        return dict(row._mapping) if row is not None else None


__all__ = ["CaseStore", "case_documents", "case_events", "case_lines", "case_tips", "cases"]
