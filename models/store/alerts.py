"""Trade alerts and the party-name index of scored lines that re-screening reads.

- ``alerts``: one row per line newly matched or presumed after a reference change, unique
  by its idempotency key (the same change never alerts the same line twice); and one row
  per drift episode of the served model (kind ``drift``, :mod:`models.store.drift`).
- ``line_parties``: per scored line (an audit row of a scoring action), its entry, date,
  party names and score, filled from the audit log's input JSON by :meth:`Alerts.index`
  (incrementally, past ``line_parties_state``'s watermark), so a re-screen reads a few
  narrow columns and only the distinct names, never a million JSON texts.
- ``rescreen_state``: the last reference version re-screened (so a server that was down
  during an update, or ``flrisk rescreen``, knows what changed since).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from models.json_text import loads
from models.store.audit import AuditStore
from models.store.engine import now_iso
from models.store.tables import SCORING_ACTIONS, audit, metadata

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_key", String(64), nullable=False, unique=True),
    Column("ts", String(32), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # presumed | matched | partner | drift
    Column("entry_id", String(128), index=True),
    Column("line_no", Integer),
    Column("audit_id", Integer),  # the scoring re-screened (its input is the line as scored)
    Column("entry_date", String(10)),
    Column("party_role", String(16)),
    Column("party_name", Text),
    Column("entity_id", String(64)),
    Column("entity_name", Text),
    Column("list", String(16)),
    Column("effective_date", String(10)),
    Column("citation", Text),
    Column("similarity", Float),
    Column("evidence_json", Text),
    Column("reference_version", String(64)),
    Column("change", String(16)),  # added | modified | partner
    Column("score_then", Float),
    Column("score_now", Float),
    Column("status", String(16), nullable=False, index=True),  # new | acknowledged
    Column("ack_by", String(64)),
    Column("ack_ts", String(32)),
)

line_parties = Table(
    "line_parties",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False, index=True),
    Column("entry_id", String(128)),
    Column("line_no", Integer),
    Column("entry_date", String(10)),
    Column("manufacturer_name", Text, index=True),
    Column("shipper_name", Text, index=True),
    Column("risk_score", Float),
)

# Each distinct party name once: its normalised form (made once, when first indexed) and
# the last time a line naming it was scored, so a re-screen reads the names of its window
# without scanning the lines.
party_names = Table(
    "party_names",
    metadata,
    Column("name", Text, primary_key=True),
    Column("norm", Text, nullable=False),
    Column("last_ts", String(32), nullable=False, index=True),
)
# A name's last time moves forward only (an older batch indexed late never moves it back).
_MOVE_LAST_TS = (
    update(party_names)
    .where(party_names.c.name == bindparam("n"), party_names.c.last_ts < bindparam("t"))
    .values(last_ts=bindparam("t"))
)

line_parties_state = Table(
    "line_parties_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_audit_id", Integer, nullable=False),
)

rescreen_state = Table(
    "rescreen_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", String(64), nullable=False),
    Column("ts", String(32), nullable=False),
)

STATUSES = ("new", "acknowledged")
PARTY_COLUMNS = ("manufacturer_name", "shipper_name")
_INDEX_BATCH = 20_000


def insert_ignore(table: Table, dialect: str) -> Any:
    """An INSERT that skips rows whose unique key exists (SQLite and PostgreSQL)."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


class Alerts:
    """Alerts, the party-name index and the re-screen watermark of one store."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.engine = store.engine

    # --- the party-name index -------------------------------------------------------------

    def index(self, normalize: Callable[[str], str]) -> int:
        """Index the scored lines written since the last call; returns how many.

        Args:
            normalize: The matcher's name normalisation, applied once per new name.
        """
        self.store.ensure()
        total = 0
        while True:
            with self.engine.begin() as conn:
                last = conn.execute(
                    select(line_parties_state.c.last_audit_id).where(line_parties_state.c.id == 1)
                ).scalar()
                if last is None:
                    conn.execute(line_parties_state.insert(), {"id": 1, "last_audit_id": 0})
                    last = 0
                q = (
                    select(audit.c.id, audit.c.ts, audit.c.entry_id, audit.c.line_no,
                           audit.c.input_json, audit.c.risk_score, audit.c.action)
                    .where(audit.c.id > last)
                    .order_by(audit.c.id)
                    .limit(_INDEX_BATCH)
                )  # fmt: skip
                rows = conn.execute(q).all()
                if not rows:
                    return total
                out = [_party_row(r) for r in rows if r.action in SCORING_ACTIONS]
                if out:
                    conn.execute(insert_ignore(line_parties, self.engine.dialect.name), out)
                    self._names(conn, out, normalize)
                conn.execute(
                    update(line_parties_state)
                    .where(line_parties_state.c.id == 1)
                    .values(last_audit_id=rows[-1].id)
                )
                total += len(out)

    def _names(
        self, conn: Any, rows: Sequence[Mapping[str, Any]], normalize: Callable[[str], str]
    ) -> None:
        """Add the batch's new names to ``party_names``; move the others' last time."""
        last: dict[str, str] = {}
        for r in rows:
            for col in PARTY_COLUMNS:
                name = r[col]
                if name and last.get(name, "") < r["ts"]:
                    last[name] = r["ts"]
        known: set[str] = set()
        names = list(last)
        for start in range(0, len(names), 500):
            q = select(party_names.c.name).where(party_names.c.name.in_(names[start : start + 500]))
            known.update(n for (n,) in conn.execute(q))
        new = [{"name": n, "norm": normalize(n), "last_ts": t} for n, t in last.items()
               if n not in known]  # fmt: skip
        if new:
            conn.execute(insert_ignore(party_names, self.engine.dialect.name), new)
        if known:
            # One statement for all known names: a statement each cost the index most of its
            # time, holding the store's write lock, which the next audit write waits for.
            conn.execute(_MOVE_LAST_TS, [{"n": n, "t": last[n]} for n in known])

    def distinct_names(self, since: str) -> list[tuple[str, str]]:
        """Distinct party names of the lines scored since ``since`` (ISO time), normalised."""
        with self.engine.connect() as conn:
            q = select(party_names.c.name, party_names.c.norm).where(party_names.c.last_ts >= since)
            return [(n, m) for n, m in conn.execute(q)]

    def lines_naming(self, names: Iterable[str], since: str) -> list[dict[str, Any]]:
        """The latest scoring of each line scored since ``since`` naming one of ``names``."""
        wanted = sorted(set(names))
        found: dict[tuple[str, int], dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                for col in PARTY_COLUMNS:
                    q = select(line_parties).where(
                        line_parties.c.ts >= since, line_parties.c[col].in_(part)
                    )
                    for r in conn.execute(q):
                        row = dict(r._mapping)
                        key = (row["entry_id"], row["line_no"])
                        if key not in found or found[key]["audit_id"] < row["audit_id"]:
                            found[key] = row
        return sorted(found.values(), key=lambda r: r["audit_id"])

    def inputs(self, audit_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The input JSON of the given audit rows (the lines to score again)."""
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(audit_ids), 500):
                q = select(audit.c.id, audit.c.input_json).where(
                    audit.c.id.in_(list(audit_ids[start : start + 500]))
                )
                out.update({i: json.loads(t or "{}") for i, t in conn.execute(q)})
        return out

    # --- alerts ---------------------------------------------------------------------------

    def add(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Insert alerts not yet stored (by ``alert_key``); returns those inserted."""
        if not rows:
            return []
        self.store.ensure()
        with self.engine.begin() as conn:
            return self.insert_on(conn, rows)

    def insert_on(self, conn: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """:meth:`add` inside the caller's transaction (``conn``), e.g. with its audit rows."""
        if not rows:
            return []
        keys = [r["alert_key"] for r in rows]
        ts = now_iso()
        conn.execute(
            insert_ignore(alerts, self.engine.dialect.name),
            [{"ts": ts, "status": "new", **r} for r in rows],
        )
        q = select(alerts).where(alerts.c.alert_key.in_(keys), alerts.c.ts == ts)
        return [dict(r._mapping) for r in conn.execute(q)]

    def recent(
        self,
        since: str | None = None,
        status: str | None = None,
        limit: int = 1000,
        entry_id: str | None = None,
        kind: str | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts, newest first, optionally since a time, of a status, an entry, a kind."""
        self.store.ensure()
        q = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
        if since:
            q = q.where(alerts.c.ts >= since)
        if status:
            q = q.where(alerts.c.status == status)
        if entry_id:
            q = q.where(alerts.c.entry_id == entry_id)
        if kind:
            q = q.where(alerts.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def count(self, status: str = "new") -> int:
        """How many alerts have ``status``."""
        self.store.ensure()
        with self.engine.connect() as conn:
            q = select(func.count()).select_from(alerts).where(alerts.c.status == status)
            return int(conn.execute(q).scalar() or 0)

    def get(self, alert_id: int) -> dict[str, Any] | None:
        """One alert, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        return dict(row._mapping) if row is not None else None

    def acknowledge(self, alert_id: int, who: str) -> dict[str, Any] | None:
        """Mark an alert acknowledged by ``who`` (again: unchanged); None if unknown."""
        with self.engine.begin() as conn:
            conn.execute(
                update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.status == "new")
                .values(status="acknowledged", ack_by=who, ack_ts=now_iso())
            )
        return self.get(alert_id)

    # --- what was re-screened -------------------------------------------------------------

    def screened_version(self) -> str | None:
        """The reference version last re-screened (None: never)."""
        self.store.ensure()
        with self.engine.connect() as conn:
            q = select(rescreen_state.c.version).where(rescreen_state.c.id == 1)
            value = conn.execute(q).scalar()
        return str(value) if value is not None else None

    def mark_screened(self, version: str) -> None:
        """Record ``version`` as re-screened."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(rescreen_state)
                .where(rescreen_state.c.id == 1)
                .values(version=version, ts=now_iso())
            )
            if not done.rowcount:
                conn.execute(
                    insert_ignore(rescreen_state, self.engine.dialect.name),
                    {"id": 1, "version": version, "ts": now_iso()},
                )


def _party_row(r: Any) -> dict[str, Any]:
    # A row's input is the canonical JSON of one line (an object); anything else indexes
    # as a line without parties rather than stopping the index at that row.
    try:
        line = loads(r.input_json or "{}")
    except ValueError:
        line = {}
    if not isinstance(line, dict):
        line = {}
    return {
        "audit_id": r.id,
        "ts": r.ts,
        "entry_id": r.entry_id,
        "line_no": r.line_no,
        "entry_date": str(line.get("entry_date") or "")[:10],
        "manufacturer_name": line.get("manufacturer_name") or None,
        "shipper_name": line.get("shipper_name") or None,
        "risk_score": r.risk_score,
    }
