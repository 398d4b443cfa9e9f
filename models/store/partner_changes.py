"""Partner alerts received, pending an admin's decision (``reference_changes``).

A partner authority's trade alert (``POST /v1/alerts/inbound``) is stored here with its
source, pending; an admin approves it (it becomes part of a new reference version, as
evidence in scoring) or rejects it. Each decision is final.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text, select, update

from models.store.audit import AuditStore
from models.store.engine import canonical_json, now_iso
from models.store.tables import metadata

reference_changes = Table(
    "reference_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False),
    Column("source", String(64), nullable=False),  # the partner key's name
    Column("authority", String(128), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending|approved|rejected
    Column("decided_by", String(64)),
    Column("decided_ts", String(32)),
    Column("version", String(64)),  # the reference version that includes it, once approved
)
STATUSES = ("pending", "approved", "rejected")


class PartnerChanges:
    """Pending, approved and rejected partner alerts of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.engine = store.engine

    def add(self, source: str, payload: dict[str, Any]) -> int:
        """Store a received partner alert, pending; returns its id."""
        self.store.ensure()
        with self.engine.begin() as conn:
            res = conn.execute(
                reference_changes.insert(),
                {"ts": now_iso(), "source": source, "authority": str(payload["authority"]),
                 "payload_json": canonical_json(payload), "status": "pending"},
            )  # fmt: skip
            key = res.inserted_primary_key
            assert key is not None
            return int(key[0])

    def get(self, change_id: int) -> dict[str, Any] | None:
        """One change, or None."""
        self.store.ensure()
        with self.engine.connect() as conn:
            q = select(reference_changes).where(reference_changes.c.id == change_id)
            row = conn.execute(q).first()
        return dict(row._mapping) if row is not None else None

    def recent(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Changes, newest first, optionally of one status."""
        self.store.ensure()
        q = select(reference_changes).order_by(reference_changes.c.id.desc()).limit(limit)
        if status:
            q = q.where(reference_changes.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def decide(self, change_id: int, status: str, who: str, version: str | None = None) -> bool:
        """Approve or reject a pending change; False when it was not pending."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(reference_changes)
                .where(reference_changes.c.id == change_id, reference_changes.c.status == "pending")
                .values(status=status, decided_by=who, decided_ts=now_iso(), version=version)
            )
            return bool(res.rowcount)
