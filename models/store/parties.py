"""The scored lines of a party and their outcomes, read from the audit log and feedback.

A party profile (:mod:`models.parties`) is built from what the store already holds: every
scored line's input and reasons in the audit log, and the outcome in force of each judged
line. Nothing is copied: the queries here only read. The party's fields sit inside each
line's canonical JSON, so a query narrows the rows with text patterns (``LIKE``, the same on
SQLite and PostgreSQL) and :mod:`models.parties` decides, line by line, which belong.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import SCORING_ACTIONS, audit, feedback, feedback_lines

# Rows whose input_json is a scored entry line (an API request, a file, a workbench upload).
LINE_ACTIONS = (*SCORING_ACTIONS, "workbench_score")
_IN_CHUNK = 500  # values per IN (...) list: SQLite's and PostgreSQL's limits are far above
_LIKE_ESCAPE = "\\"


def like_escape(text: str) -> str:
    """``text`` with ``LIKE``'s wildcards (and the escape character, a backslash) escaped."""
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )  # fmt: skip


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _IN_CHUNK):
        yield values[i : i + _IN_CHUNK]


class PartyLines:
    """Reads behind party profiles and the worklist's outcome column."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def scored_lines(self, contains: Iterable[str], limit: int) -> list[dict[str, Any]]:
        """Audited scored lines whose input holds any of ``contains`` (case-insensitive).

        Args:
            contains: Texts one of which the line's canonical JSON must hold (e.g.
                ``"importer_id":"IMP-1"``, or a distinctive word of a name); empty: none.
            limit: At most this many rows, newest first.

        Returns:
            ``id, ts, action, entry_id, line_no, input_json, risk_score, risk_band,
            reasons_json`` per audit row, newest first (a line scored twice appears twice).

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        patterns = [f"%{like_escape(t)}%" for t in dict.fromkeys(contains) if t]
        if not patterns:
            return []
        c = audit.c
        q = (
            select(c.id, c.ts, c.action, c.entry_id, c.line_no, c.input_json, c.risk_score,
                   c.risk_band, c.reasons_json)
            .where(c.action.in_(LINE_ACTIONS), c.input_json.is_not(None))
            .where(or_(*(c.input_json.ilike(p, escape=_LIKE_ESCAPE) for p in patterns)))
            .order_by(c.id.desc())
            .limit(limit)
        )  # fmt: skip
        return self._read(q)

    def shown_reasons(self, entry_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Reasons shown to officers (``workbench_view`` rows) for lines of these entries.

        A workbench upload explains only its riskiest lines when it is scored; an officer
        opening an entry sees all of its lines' reasons, audited with this action.
        """
        c = audit.c
        rows: list[dict[str, Any]] = []
        for part in _chunks(sorted(set(entry_ids))):
            q = (
                select(c.id, c.entry_id, c.line_no, c.reasons_json)
                .where(c.action == "workbench_view", c.entry_id.in_(part))
                .where(c.reasons_json.is_not(None))
            )
            rows.extend(self._read(q))
        return rows

    def outcomes(self, entry_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The outcome in force of every judged line of these entries.

        Returns:
            ``entry_id, line_no, status`` (``labelled`` or ``review``), and for a labelled
            line its record's ``inspected, inspection_reason, violation, outcome, ts,
            source`` (None under review).
        """
        fl, fb = feedback_lines.c, feedback.c
        rows: list[dict[str, Any]] = []
        for part in _chunks(sorted(set(entry_ids))):
            q = (
                select(fl.entry_id, fl.line_no, fl.status, fb.inspected, fb.inspection_reason,
                       fb.violation, fb.outcome, fb.ts, fb.source)
                .select_from(feedback_lines.outerjoin(feedback, fb.id == fl.feedback_id))
                .where(fl.entry_id.in_(part))
            )  # fmt: skip
            rows.extend(self._read(q))
        return rows

    def _read(self, q: Any) -> list[dict[str, Any]]:
        try:
            self._store._ensure()
            with self._store.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"audit read failed: {type(exc).__name__}") from exc
