"""The store: SQLite by default, PostgreSQL by URL; SQL lives only in this package.

- :mod:`~models.store.tables`: every table, declared on one ``metadata``.
- :mod:`~models.store.engine`: engines, time stamps, canonical JSON and input hashes.
- :mod:`~models.store.audit`: :class:`AuditStore`, the hash-chained audit log and feedback.
- :mod:`~models.store.feedback_write`: one line's feedback inside one transaction.
- :mod:`~models.store.alerts`, :mod:`~models.store.outbox`,
  :mod:`~models.store.partner_changes`: trade alerts, the webhook outbox, partner alerts.

A new resource (its tables and the queries over them) gets its own module here, declaring
its tables on :data:`~models.store.tables.metadata`, and is imported below so that
:meth:`AuditStore.create` creates its tables.
"""

from models.store.alerts import Alerts
from models.store.audit import AuditStore
from models.store.engine import (
    BUSY_TIMEOUT_MS,
    AuditUnavailableError,
    canonical_json,
    input_hash,
    make_engine,
    now_iso,
)
from models.store.feedback_write import FeedbackWrite
from models.store.outbox import Outbox
from models.store.partner_changes import PartnerChanges
from models.store.tables import (
    CHAIN_COLUMNS,
    HASHED,
    SCORING_ACTIONS,
    audit,
    audit_head,
    feedback,
    feedback_lines,
    metadata,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CHAIN_COLUMNS",
    "HASHED",
    "SCORING_ACTIONS",
    "Alerts",
    "AuditStore",
    "AuditUnavailableError",
    "FeedbackWrite",
    "Outbox",
    "PartnerChanges",
    "audit",
    "audit_head",
    "canonical_json",
    "feedback",
    "feedback_lines",
    "input_hash",
    "make_engine",
    "metadata",
    "now_iso",
]
