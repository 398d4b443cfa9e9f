"""The store: SQLite by default, PostgreSQL by URL; SQL lives only in this package.

- :mod:`~models.store.tables`: every table, declared on one ``metadata``.
- :mod:`~models.store.engine`: engines, time stamps, canonical JSON and input hashes.
- :mod:`~models.store.audit`: :class:`AuditStore`, the hash-chained audit log and feedback.
- :mod:`~models.store.audit_reads`: its read queries (decisions, feedback, a job's lines).
- :mod:`~models.store.feedback_write`: one line's feedback inside one transaction.
- :mod:`~models.store.drift`: drift episodes; :mod:`~models.store.shadow`: shadow scores.
- :mod:`~models.store.tips`: tips (allegations) and the parties they name.
- :mod:`~models.store.cases`: cases, their lines, tips, trail and documents.
- :mod:`~models.store.workbench`: the workbench's sessions and worklists.
- :mod:`~models.store.parties`: the scored lines and outcomes of one party (profiles).
- :mod:`~models.store.alerts`, :mod:`~models.store.outbox`,
  :mod:`~models.store.partner_changes`: trade alerts, the webhook outbox, partner alerts.
- :mod:`~models.store.exploration`: the lines selections drew for a random check.

A new resource (its tables and the queries over them) gets its own module here, declaring
its tables on :data:`~models.store.tables.metadata`, and is imported below so that
:meth:`AuditStore.create` creates its tables.
"""

from models.store.alerts import Alerts
from models.store.audit import AuditStore
from models.store.cases import CaseStore
from models.store.drift import DriftEpisodes
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
from models.store.outbox import Outbox
from models.store.parties import PartyLines
from models.store.partner_changes import PartnerChanges
from models.store.shadow import ShadowScores
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
from models.store.tips import TipStore
from models.store.workbench import WorkbenchStore

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CHAIN_COLUMNS",
    "HASHED",
    "SCORING_ACTIONS",
    "Alerts",
    "AuditStore",
    "AuditUnavailableError",
    "CaseStore",
    "DriftEpisodes",
    "ExplorationPicks",
    "FeedbackWrite",
    "Outbox",
    "PartnerChanges",
    "PartyLines",
    "ShadowScores",
    "TipStore",
    "WorkbenchStore",
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
