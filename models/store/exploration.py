"""Exploration picks: the lines a selection sent to a random check, per worklist or job.

The server, not the client, knows which lines were drawn at random
(:func:`models.selection.select`): each worklist's and file job's current picks are kept
here, and an outcome recorded for one of them is stored with ``inspection_reason=random``
whatever the sender said (:func:`models.feedback.record_outcome`). A worklist's picks are
replaced when the officer changes the capacity, the share or the filters: the lines shown
last are the ones examined. Every change writes an audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, delete, select
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import metadata

exploration_picks = Table(
    "exploration_picks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The worklist's or job's id (``ref``) and which of the two it is (``kind``).
    Column("ref", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("entry_id", String(128), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    # The scored decision the pick showed (its input hash): the outcome names the same one.
    Column("decision_id", String(64), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("explore", Float, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("ts", String(32), nullable=False),
)

PICK_FIELDS = ("entry_id", "line_no", "decision_id")


class ExplorationPicks:
    """The exploration picks of worklists and jobs, in the audit store's database."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def replace(
        self,
        ref: str,
        kind: str,
        picks: Iterable[Mapping[str, Any]],
        *,
        capacity: int,
        explore: float,
        seed: int,
        ts: str,
        audit_rows: Iterable[Mapping[str, Any]],
    ) -> None:
        """Make ``picks`` the current exploration picks of ``ref``, with their audit rows.

        Args:
            ref: The worklist's or job's id.
            kind: ``worklist`` or ``job`` (a file scored at once is a job too).
            picks: ``entry_id, line_no, decision_id`` of each line drawn (every line of an
                entry drawn for a check).
            capacity: The capacity of the selection.
            explore: Its exploration share.
            seed: The seed of its draw.
            ts: The time stamp of the change.
            audit_rows: The audit rows recording the change.

        Raises:
            AuditUnavailableError: Nothing was changed.
        """
        common = {"ref": ref, "kind": kind, "capacity": int(capacity), "explore": float(explore),
                  "seed": int(seed), "ts": ts}  # fmt: skip
        rows = [{**common, **{k: p[k] for k in PICK_FIELDS}} for p in picks]
        with self._store.audited("exploration picks write") as (conn, append):
            conn.execute(delete(exploration_picks).where(exploration_picks.c.ref == ref))
            if rows:
                conn.execute(exploration_picks.insert(), rows)
            append(audit_rows)

    def current(self, ref: str) -> list[dict[str, Any]]:
        """The current picks of ``ref`` (``entry_id, line_no, decision_id, ...``), in order."""
        self._store.create_once()
        q = select(exploration_picks).where(exploration_picks.c.ref == ref)
        with self._store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(exploration_picks.c.id))]

    def is_pick(self, entry_id: str, line_no: int, decision_id: str) -> bool:
        """Whether this scored decision of the line is a current exploration pick anywhere."""
        self._store.create_once()
        c = exploration_picks.c
        q = (
            select(c.id)
            .where(c.entry_id == entry_id, c.line_no == int(line_no))
            .where(c.decision_id == decision_id)
            .limit(1)
        )
        try:
            with self._store.engine.connect() as conn:
                return conn.execute(q).first() is not None
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"exploration read failed: {type(exc).__name__}") from exc
