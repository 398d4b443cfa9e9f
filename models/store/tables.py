"""The store's tables: the audit log, its chain head, feedback records and line statuses.

Every table of the store is declared on :data:`metadata`; :meth:`AuditStore.create
<models.store.audit.AuditStore.create>` creates them all. A new resource declares its tables
in its own module of this package and is imported by ``models/store/__init__.py`` so its
tables exist before ``create`` runs.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("ts", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("entry_id", String(128), index=True),
    Column("line_no", Integer),
    Column("input_hash", String(64)),
    Column("input_json", Text),
    Column("model_version", String(256)),
    Column("bundle_hash", String(64)),
    Column("risk_score", Float),
    Column("risk_band", String(16)),
    Column("reasons_json", Text),
    Column("latency_ms", Float),
    Column("action", String(32), nullable=False),
    # How the row's hash covers its input and reasons (models.audit_chain.FORM): 1, by their
    # hashes (a scored line's); NULL, by their texts (every other row, and rows from before).
    Column("chain_form", Integer),
    Column("prev_hash", String(64)),  # None in rows written before the chain (see create)
    Column("row_hash", String(64)),
)
CHAIN_COLUMNS = ("prev_hash", "row_hash")
# The fields each row's hash covers besides its id, and their types (what the database gives).
HASHED = {
    str(c.name): c.type.python_type for c in audit.columns if c.name not in ("id", *CHAIN_COLUMNS)
}

# The chain's head: one row (id 1), updated in the transaction of every audit write.
audit_head = Table(
    "audit_chain",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_start", Integer, nullable=False),
    Column("last_id", Integer, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("entry_id", String(128), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("inspected", Boolean, nullable=False),
    Column("inspection_reason", String(16)),
    Column("violation", Integer),
    Column("outcome", String(64)),
    Column("note", Text),
    # The scored decision judged: the input hash of an audited scoring of this line (null
    # on records from before decision ids), and who judged it (workbench or api).
    Column("decision_id", String(64)),
    Column("source", String(16)),
)

# One row per judged line: its status (``labelled`` or ``review``) and the feedback record
# in force (null under review). Rewritten, in the same transaction, with every new record.
feedback_lines = Table(
    "feedback_lines",
    metadata,
    Column("entry_id", String(128), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("feedback_id", Integer),
    Column("records", Integer, nullable=False),
    Column("ts", String(32), nullable=False),
)

# Actions whose rows carry a scored input line (feedback rows carry the feedback itself).
SCORING_ACTIONS = ("score", "score_file")
