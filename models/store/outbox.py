"""The webhook outbox: messages to screening systems, delivered at least once.

One row per message and webhook URL (unique by both: enqueuing again is a no-op), written
in the store so a restart loses nothing. A sender takes the due rows of a URL, posts them
as one batch, and marks them delivered, or schedules the next try with exponential backoff
and dead-letters a row after the last try (``serving/webhooks.py``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)

from models.store.alerts import insert_ignore
from models.store.audit import AuditStore
from models.store.engine import now_iso
from models.store.tables import metadata

outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # line_alert | drift_alert | enforcement_action
    Column("body_json", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),  # epoch seconds of the next try
    Column("last_error", Text),
    Column("delivered_ts", String(32)),
    Column("url_key", String(64), nullable=False),
)
# A message is enqueued once per URL (the unique pair below).
outbox.append_constraint(UniqueConstraint("url_key", "idempotency_key", name="uq_outbox"))
STATUSES = ("pending", "delivered", "dead")


class Outbox:
    """The outbox of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.engine = store.engine

    def enqueue(self, urls: Sequence[str], messages: Sequence[Mapping[str, Any]]) -> int:
        """Queue each message (``idempotency_key``, ``kind``, ``body_json``) for each URL."""
        if not urls or not messages:
            return 0
        self.store.ensure()
        with self.engine.begin() as conn:
            return self.enqueue_on(conn, urls, messages)

    def enqueue_on(
        self, conn: Any, urls: Sequence[str], messages: Sequence[Mapping[str, Any]]
    ) -> int:
        """:meth:`enqueue` inside the caller's transaction (``conn``)."""
        rows = [
            {"ts": now_iso(), "url": url, "url_key": hashlib.sha256(url.encode()).hexdigest(),
             "status": "pending", "attempts": 0, "next_at": 0.0, **m}
            for url in urls
            for m in messages
        ]  # fmt: skip
        if rows:
            conn.execute(insert_ignore(outbox, self.engine.dialect.name), rows)
        return len(rows)

    def due(self, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
        """Pending rows whose next try is due, by URL, oldest first."""
        now = time.time()
        q = (
            select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                out.setdefault(r.url, []).append(dict(r._mapping))
        return out

    def delivered(self, ids: Sequence[int]) -> None:
        """Mark rows delivered."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)))
                .values(status="delivered", delivered_ts=now_iso(), attempts=outbox.c.attempts + 1)
            )

    def failed(self, rows: Sequence[Mapping[str, Any]], error: str, *, backoff_s: float,
               max_tries: int) -> int:  # fmt: skip
        """Schedule the next try of rows after a failed delivery; returns how many died."""
        dead = 0
        now = time.time()
        with self.engine.begin() as conn:
            for r in rows:
                tries = int(r["attempts"]) + 1
                status = "dead" if tries >= max_tries else "pending"
                dead += status == "dead"
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == r["id"])
                    .values(attempts=tries, status=status, last_error=error[:500],
                            next_at=now + backoff_s * 2 ** (tries - 1))
                )  # fmt: skip
        return dead

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        self.store.ensure()
        with self.engine.connect() as conn:
            q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
            found = {str(s): int(n) for s, n in conn.execute(q)}
        return {s: found.get(s, 0) for s in STATUSES}
