"""The store: SQLite by default, PostgreSQL by URL; SQL lives only in this package.

- :mod:`~models.store.tables`: every table, declared on one ``metadata``.
- :mod:`~models.store.engine`: engines, time stamps, canonical JSON and input hashes.
- :mod:`~models.store.audit`: :class:`AuditStore`, the hash-chained audit log and feedback.
- :mod:`~models.store.feedback_write`: one line's feedback inside one transaction.
- :mod:`~models.store.exploration`: the lines selections drew for a random check.

A new resource (its tables and the queries over them) gets its own module here, declaring
its tables on :data:`~models.store.tables.metadata`, and is imported below so that
:meth:`AuditStore.create` creates its tables.
"""

from models.store.audit import AuditStore
from models.store.engine import (
    BUSY_TIMEOUT_MS,
    AuditUnavailableError,
    canonical_json,
    input_hash,
    make_engine,
    now_iso,
)
from models.store.exploration import ExplorationPicks, exploration_picks
from models.store.feedback_write import FeedbackWrite
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
    "AuditStore",
    "AuditUnavailableError",
    "ExplorationPicks",
    "FeedbackWrite",
    "audit",
    "audit_head",
    "canonical_json",
    "exploration_picks",
    "feedback",
    "feedback_lines",
    "input_hash",
    "make_engine",
    "metadata",
    "now_iso",
]
