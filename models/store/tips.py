"""Tips (allegations) in the store: the tips, the parties they name, and the queries over them.

A tip is filed once and triaged (``new`` -> ``corroborated`` -> ``dismissed``); each change
is written with its audit row in one transaction (:meth:`AuditStore.audited
<models.store.audit.AuditStore.audited>`). Parties are kept one row each, with the
normalised name the entity lists use, so "tips naming this party" is one indexed query.
What a tip means (duplicates, triage rules, evidence on lines) lives in :mod:`models.tips`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    String,
    Table,
    Text,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import Append, AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import metadata

tips = Table(
    "tips",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_date", String(10), nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("country", String(2)),
    Column("allegation", Text, nullable=False),
    Column("goods_json", Text, nullable=False),  # [{"hs": ..., "description": ...}]
    Column("status", String(16), nullable=False, index=True),
    Column("duplicate_of", Integer),
    Column("filed_at", String(32), nullable=False),
    Column("filed_by", String(64), nullable=False),
    # The last triage: who, when, why; and when the tip was corroborated (training reads it
    # to count a tip as corroborated only for lines entered after that).
    Column("triaged_at", String(32)),
    Column("triaged_by", String(64)),
    Column("triage_note", Text),
    Column("corroborated_at", String(32)),
    Column("dismissed_at", String(32)),
)

tip_parties = Table(
    "tip_parties",
    metadata,
    Column("tip_id", Integer, primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", String(512)),
    Column("name_key", String(512), index=True),  # normalised as the entity lists are
    Column("address", String(1024)),
    Column("party_id", String(128), index=True),
)

# One row (id 1): a counter moved by every filing and triage, in the same transaction, so
# that "did any tip change?" is one primary-key read, asked before every scored request.
tips_revision = Table(
    "tips_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("rev", Integer, nullable=False),
)
_THE_ROW = tips_revision.c.id == literal_column("1")
_REVISION = select(tips_revision.c.rev).where(_THE_ROW)

TIP_FIELDS = tuple(c.name for c in tips.columns)


class TipStore:
    """Queries over the tips tables of one :class:`AuditStore`."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def insert(
        self, conn: Connection, tip: Mapping[str, Any], parties: Sequence[Mapping[str, Any]]
    ) -> int:
        """Insert a tip and its parties inside ``conn``'s transaction; return its id."""
        row = {k: v for k, v in tip.items() if k in TIP_FIELDS and k != "id"}
        pk = conn.execute(tips.insert(), [row]).inserted_primary_key
        tip_id = int(pk[0]) if pk else 0
        if parties:
            conn.execute(
                tip_parties.insert(),
                [{**dict(p), "tip_id": tip_id, "idx": i} for i, p in enumerate(parties)],
            )
        return tip_id

    def set_fields(self, conn: Connection, tip_id: int, values: Mapping[str, Any]) -> None:
        """Update a tip's fields inside ``conn``'s transaction."""
        conn.execute(update(tips).where(tips.c.id == tip_id).values(**values))

    @staticmethod
    def bump(conn: Connection) -> None:
        """Move the tips' revision, inside the transaction of a filing or a triage."""
        moved = conn.execute(
            update(tips_revision).where(_THE_ROW).values(rev=tips_revision.c.rev + 1)
        )
        if not moved.rowcount:
            conn.execute(tips_revision.insert(), [{"id": 1, "rev": 1}])

    def revision(self) -> int:
        """The tips' revision: changes whenever a tip is filed or triaged (0: never).

        One primary-key read through the driver, its SQL compiled once: SQLAlchemy's
        execution machinery would cost many times the read on the scoring path.
        """
        try:
            self.store._ensure()
            sql, _ = self.store._compiled(_REVISION)
            conn = self.store.engine.raw_connection()
            try:
                cur = conn.cursor()
                cur.execute(sql)
                row = cur.fetchone()
                cur.close()
            finally:
                conn.close()
        except (SQLAlchemyError, self.store._dbapi_error) as exc:
            # The store is down: the request cannot be audited either (503, not 500).
            raise AuditUnavailableError(f"tips read failed: {type(exc).__name__}") from exc
        return int(row[0]) if row else 0

    def get(self, tip_id: int, conn: Connection | None = None) -> dict[str, Any] | None:
        """One tip with its parties and goods, or None."""
        found = self._read(select(tips).where(tips.c.id == tip_id), conn)
        return found[0] if found else None

    def recent(self, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Tips, newest filed first, optionally of one status."""
        q = select(tips).order_by(tips.c.id.desc()).limit(limit)
        if status is not None:
            q = q.where(tips.c.status == status)
        return self._read(q)

    def all(self) -> list[dict[str, Any]]:
        """Every tip, oldest first (for the evidence index and training)."""
        return self._read(select(tips).order_by(tips.c.id))

    def naming(
        self,
        *,
        name_key: str | None = None,
        party_id: str | None = None,
        roles: Sequence[str] | None = None,
        conn: Connection | None = None,
    ) -> list[dict[str, Any]]:
        """Tips naming a party by normalised name or by ID, oldest first.

        Args:
            name_key: The party's normalised name (as the entity lists normalise it).
            party_id: The party's ID as declared (importer number, MID).
            roles: Only parties named in these roles (default: any).
            conn: A connection to read in (a transaction's), else a new one.
        """
        conds = []
        if name_key:
            conds.append(tip_parties.c.name_key == name_key)
        if party_id:
            conds.append(tip_parties.c.party_id == party_id)
        if not conds:
            return []
        ids = select(tip_parties.c.tip_id).where(or_(*conds))
        if roles:
            ids = ids.where(tip_parties.c.role.in_(list(roles)))
        return self._read(select(tips).where(tips.c.id.in_(ids)).order_by(tips.c.id), conn)

    def duplicates_of(self, tip_id: int) -> list[int]:
        """Ids of the tips linked as duplicates of ``tip_id``."""
        self.store._ensure()
        q = select(tips.c.id).where(tips.c.duplicate_of == tip_id).order_by(tips.c.id)
        with self.store.engine.connect() as conn:
            return [int(r[0]) for r in conn.execute(q)]

    def write(self, what: str) -> Any:
        """An audited transaction (``(conn, append)``) for a tip's change."""
        return self.store.audited(what)

    def _read(self, q: Any, conn: Connection | None = None) -> list[dict[str, Any]]:
        if conn is None:
            try:
                self.store._ensure()
                with self.store.engine.connect() as c:
                    return self._read(q, c)
            except (SQLAlchemyError, self.store._dbapi_error) as exc:
                raise AuditUnavailableError(f"tips read failed: {type(exc).__name__}") from exc
        rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        parties: dict[int, list[dict[str, Any]]] = {}
        pq = (
            select(tip_parties)
            .where(tip_parties.c.tip_id.in_(ids))
            .order_by(tip_parties.c.tip_id, tip_parties.c.idx)
        )
        for p in conn.execute(pq):
            m = dict(p._mapping)
            parties.setdefault(int(m.pop("tip_id")), []).append(m)
        for r in rows:
            r["parties"] = parties.get(int(r["id"]), [])
            r["goods"] = json.loads(r.pop("goods_json") or "[]")
        return rows


__all__ = ["TIP_FIELDS", "Append", "TipStore", "tip_parties", "tips"]
