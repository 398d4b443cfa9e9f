"""Shadow scores: the challenger's score of each line the champion scored, kept beside it.

The server scores each request with the shadow model after answering (``FLRISK_SHADOW_ALIAS``);
one row per line keeps the request, the line, and each model's version, score and band, so
``flrisk shadow-report`` and the workbench's model page can compare the two on real traffic
and, once outcomes arrive, on what inspections found. Each request's rows are written with
one audit row (action ``shadow_score``: the two versions and the line count) in one
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, and_, select
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import feedback, feedback_lines, metadata

shadow_scores = Table(
    "shadow_scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False, index=True),
    Column("request_id", String(64), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("champion_version", String(256), nullable=False),
    Column("champion_score", Float, nullable=False),
    Column("champion_band", String(16)),
    Column("challenger_version", String(256), nullable=False),
    Column("challenger_score", Float, nullable=False),
    Column("challenger_band", String(16)),
)
COLUMNS = tuple(c.name for c in shadow_scores.columns if c.name != "id")
_INSERT = shadow_scores.insert()


class ShadowScores:
    """The shadow scores of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def record(self, rows: Sequence[Mapping[str, Any]], audit_row: Mapping[str, Any]) -> None:
        """Write one request's shadow rows (every column but ``id``) and its audit row.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        if not rows:
            return
        store = self.store
        sql, order = store._compiled(_INSERT, COLUMNS)
        params = [r if order is None else tuple(r[k] for k in order) for r in rows]

        def insert(cur: Any) -> None:
            cur.executemany(sql, params)

        store._write("shadow scores write", [audit_row], then=insert)

    def with_outcomes(self, since: str | None = None) -> list[dict[str, Any]]:
        """Shadow rows (oldest first, from ``since`` on) with each line's outcome in force.

        Args:
            since: An ISO date or time; rows stamped before it are left out.

        Returns:
            The rows, each with ``violation``: 1 or 0 when the line's outcome in force says
            inspected with that result, None when no outcome is known (or it is under review).

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        in_force = and_(
            feedback_lines.c.entry_id == shadow_scores.c.entry_id,
            feedback_lines.c.line_no == shadow_scores.c.line_no,
            feedback_lines.c.status == "labelled",
        )
        q = (
            select(shadow_scores, feedback.c.inspected, feedback.c.violation)
            .join(feedback_lines, in_force, isouter=True)
            .join(feedback, feedback.c.id == feedback_lines.c.feedback_id, isouter=True)
            .order_by(shadow_scores.c.id)
        )
        if since:
            q = q.where(shadow_scores.c.ts >= since)
        try:
            self.store._ensure()
            with self.store.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"shadow scores read failed: {type(exc).__name__}") from exc
        for r in rows:
            known = r.pop("inspected") and r["violation"] is not None
            r["violation"] = int(r["violation"]) if known else None
        return rows
