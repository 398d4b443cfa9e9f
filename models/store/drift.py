"""Drift alerts: one row each time the served model's inputs or scores moved past the threshold.

A row says which model, when, over how many recently scored lines, and which measures moved
(each with its PSI and the bin that moved most, as JSON). It is written with an audit row
(action ``drift_alert``, the same facts as its detail) in one transaction. The row is the
alert's whole record: whatever routes alerts to people (mail, a trade-alert queue) reads
this table, newest first, and can mark a row seen by its ``id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, select
from sqlalchemy.exc import SQLAlchemyError

from models.store.audit import AuditStore
from models.store.engine import AuditUnavailableError
from models.store.tables import metadata

drift_alerts = Table(
    "drift_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False),
    Column("model_version", String(256), nullable=False),
    Column("bundle_hash", String(64), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("window_lines", Integer, nullable=False),
    # [{"measure", "psi", "moved", "reference_share", "share"}, ...], worst first.
    Column("measures_json", Text, nullable=False),
)


@dataclass(frozen=True)
class DriftAlert:
    """One drift alert.

    Attributes:
        ts: When it was raised (UTC, ISO 8601).
        model_version: The served model (``models:/NAME/VERSION``).
        bundle_hash: Its bundle's hash.
        threshold: The PSI threshold crossed.
        window_lines: Scored lines the PSI was computed over.
        measures: The measures above the threshold, worst first (``MeasureDrift.as_dict``).
        id: The row's id (0 before it is written).
    """

    ts: str
    model_version: str
    bundle_hash: str
    threshold: float
    window_lines: int
    measures: Sequence[Mapping[str, Any]]
    id: int = 0

    def detail(self) -> dict[str, Any]:
        """What the audit row records of it."""
        return {
            "threshold": self.threshold,
            "window_lines": self.window_lines,
            "measures": [dict(m) for m in self.measures],
        }


class DriftAlerts:
    """The drift alerts of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def record(self, alert: DriftAlert, audit_row: Mapping[str, Any]) -> None:
        """Write the alert and its audit row in one transaction.

        Raises:
            AuditUnavailableError: The write failed; nothing was recorded.
        """
        row = {
            "ts": alert.ts,
            "model_version": alert.model_version,
            "bundle_hash": alert.bundle_hash,
            "threshold": alert.threshold,
            "window_lines": alert.window_lines,
            "measures_json": json.dumps(list(alert.detail()["measures"])),
        }
        store = self.store
        sql, order = store._compiled("drift_insert", drift_alerts.insert(), tuple(row))

        def insert(cur: Any) -> None:
            cur.execute(sql, row if order is None else tuple(row[k] for k in order))

        store._write("drift alert", [audit_row], then=insert)

    def latest(self, limit: int = 20) -> list[DriftAlert]:
        """The newest alerts first.

        Raises:
            AuditUnavailableError: The store cannot be read.
        """
        q = select(drift_alerts).order_by(drift_alerts.c.id.desc()).limit(limit)
        try:
            self.store._ensure()
            with self.store.engine.connect() as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as exc:
            raise AuditUnavailableError(f"drift alerts read failed: {type(exc).__name__}") from exc
        return [
            DriftAlert(
                ts=r.ts, model_version=r.model_version, bundle_hash=r.bundle_hash,
                threshold=float(r.threshold), window_lines=int(r.window_lines),
                measures=json.loads(r.measures_json), id=int(r.id),
            )
            for r in rows
        ]  # fmt: skip
