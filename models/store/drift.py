"""Drift episodes: when the served model's inputs or scores moved past the threshold, and back.

An episode opens when a drift check finds a measure above the threshold and no episode of
that model (its bundle hash) is open; it closes when a later check finds every measure back
under it. Opening writes, in one audited transaction (:meth:`AuditStore.audited`), the
episode row, the drift alert (a row of the trade alerts' ``alerts`` table, kind ``drift``:
the measures, PSI, threshold and window live there and only there), its webhook outbox rows
and the ``drift_alert`` audit row; closing writes ``cleared_ts`` and a ``drift_clear`` audit
row. A partial unique index keeps one open episode per model even with several server
workers checking their own windows.

What the alert says and who receives it is :mod:`models.alerts.drift`; this module holds
the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from models.store.alerts import Alerts
from models.store.audit import Append, AuditStore
from models.store.engine import AuditUnavailableError, now_iso
from models.store.outbox import Outbox
from models.store.tables import metadata

drift_episodes = Table(
    "drift_episodes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bundle_hash", String(64), nullable=False, index=True),
    Column("model_version", String(256), nullable=False),
    Column("episode", Integer, nullable=False),  # 1, 2, ... per model
    Column("opened_ts", String(32), nullable=False),
    Column("cleared_ts", String(32)),  # None while the episode is open
    Column("alert_id", Integer, nullable=False),  # its row in ``alerts``
)
_OPEN = drift_episodes.c.cleared_ts.is_(None)
Index(
    "uq_drift_open",
    drift_episodes.c.bundle_hash,
    unique=True,
    sqlite_where=_OPEN,
    postgresql_where=_OPEN,
)

# Builds the alert row of a new episode from its number (the alert key names it).
AlertRow = Callable[[int], Mapping[str, Any]]
# Builds the audit rows of a change from the alert (or episode) row written.
AuditOf = Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]
# Builds the outbox messages of a new alert: (URLs, messages) pairs.
MessagesOf = Callable[[Mapping[str, Any]], Sequence[tuple[Sequence[str], Sequence[Any]]]]


class DriftEpisodes:
    """The drift episodes of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def open_episode(self, bundle_hash: str) -> dict[str, Any] | None:
        """The model's open episode, or None.

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        q = select(drift_episodes).where(drift_episodes.c.bundle_hash == bundle_hash, _OPEN)
        try:
            self.store.ensure()
            with self.store.engine.connect() as conn:
                row = conn.execute(q).first()
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"drift episodes read: {type(exc).__name__}") from exc
        return dict(row._mapping) if row is not None else None

    def open(
        self,
        bundle_hash: str,
        model_version: str,
        alert_row: AlertRow,
        audit_of: AuditOf,
        messages_of: MessagesOf,
    ) -> dict[str, Any] | None:
        """Open an episode with its alert, outbox rows and audit row; None if one is open.

        Returns:
            The alert row written (``alerts`` columns), or None when the model already has
            an open episode (the same crossing: nothing is written).

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        with self.store.audited("drift alert") as (conn, append):
            if _open_in(conn, bundle_hash) is not None:
                return None
            number = 1 + int(
                conn.execute(
                    select(func.count())
                    .select_from(drift_episodes)
                    .where(drift_episodes.c.bundle_hash == bundle_hash)
                ).scalar()
                or 0
            )
            alert = Alerts(self.store).insert_on(conn, [alert_row(number)])[0]
            conn.execute(
                drift_episodes.insert(),
                {"bundle_hash": bundle_hash, "model_version": model_version,
                 "episode": number, "opened_ts": alert["ts"], "alert_id": alert["id"]},
            )  # fmt: skip
            append(audit_of(alert))
            outbox = Outbox(self.store)
            for urls, messages in messages_of(alert):
                outbox.enqueue_on(conn, urls, messages)
            return alert

    def clear(self, bundle_hash: str, audit_of: AuditOf) -> dict[str, Any] | None:
        """Close the model's open episode (audited); the episode closed, or None if none was.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        with self.store.audited("drift clear") as (conn, append):
            return _clear_in(conn, append, bundle_hash, audit_of)

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """Episodes, newest first.

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        q = select(drift_episodes).order_by(drift_episodes.c.id.desc()).limit(limit)
        try:
            self.store.ensure()
            with self.store.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(q)]
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"drift episodes read: {type(exc).__name__}") from exc


def _open_in(conn: Connection, bundle_hash: str) -> dict[str, Any] | None:
    q = select(drift_episodes).where(drift_episodes.c.bundle_hash == bundle_hash, _OPEN)
    row = conn.execute(q).first()
    return dict(row._mapping) if row is not None else None


def _clear_in(
    conn: Connection, append: Append, bundle_hash: str, audit_of: AuditOf
) -> dict[str, Any] | None:
    episode = _open_in(conn, bundle_hash)
    if episode is None:
        return None
    episode["cleared_ts"] = now_iso()
    conn.execute(
        update(drift_episodes)
        .where(drift_episodes.c.id == episode["id"])
        .values(cleared_ts=episode["cleared_ts"])
    )
    append(audit_of(episode))
    return episode
