"""One line's feedback written inside one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, update

from models.store.tables import feedback, feedback_lines


class FeedbackWrite:
    """A line's feedback inside one transaction (see :meth:`AuditStore.feedback_write`)."""

    def __init__(
        self,
        conn: Connection,
        entry_id: str,
        line_no: int,
        append: Callable[[Iterable[Mapping[str, Any]]], Any],
    ) -> None:
        self._conn = conn
        self.entry_id = entry_id
        self.line_no = line_no
        self._append = append

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
        """Append the audit rows of this write to the chain."""
        self._append(rows)
