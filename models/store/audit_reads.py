"""The audit store's reads: decisions, feedback, audit rows, a job's lines, training's input.

A mixin of :class:`~models.store.audit.AuditStore` (its engine and its table creation), kept
apart from the writes and the hash chain so that each module stays one concern.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from models.store.engine import AuditUnavailableError
from models.store.tables import SCORING_ACTIONS, audit, feedback, feedback_lines


class AuditReads:
    """Read queries over the audit log and feedback (mixed into ``AuditStore``)."""

    engine: Engine

    def _ensure(self) -> None:
        raise NotImplementedError

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
                **_decision(r.reasons_json),
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


def _decision(reasons_json: str | None) -> dict[str, Any]:
    """The reasons and presumption stored in an audit row's ``reasons_json``."""
    stored = json.loads(reasons_json) if reasons_json else {}
    return {"reasons": stored.get("reasons", []), "presumption": stored.get("presumption", "")}
