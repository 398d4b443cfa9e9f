"""The audit log's hash chain, on SQLite and on PostgreSQL (``store`` runs each test on both).

Rows are changed and removed the way someone with access to the database would: SQL sent
straight to it, past the store. ``flrisk audit verify`` must name the first broken link at
its row and exit non-zero, and pass an intact chain with its count; a database written
before the chain existed keeps its rows and is chained from its next row; the readiness probe
writes nothing; the API's database role of docs/reliability.md cannot rewrite a row. That
concurrent writers never fork the chain is tested in test_postgres.py.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from reltools import PgCluster
from sqlalchemy import Column, MetaData, Table
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from models.alerts.drift import DriftWindow, clear_drift, raise_drift_alert
from models.audit_chain import row_hash
from models.audit_rows import AuditRows, ModelStamp
from models.feedback import record_outcome
from models.scoring.drift import DriftReport, MeasureDrift
from models.store import (
    CHAIN_COLUMNS,
    HASHED,
    Alerts,
    AuditStore,
    ShadowScores,
    audit,
    audit_head,
    now_iso,
)
from pipelines.cli import app

pytestmark = pytest.mark.integration
MODEL = ModelStamp("models:/flrisk/1", "a" * 64)


def _rows(n: int, request_id: str = "r", first: int = 0) -> list[dict[str, Any]]:
    lines = [
        {"entry_id": f"E-{first + i}", "line_no": 1, "manufacturer_name": "MÜLLER ☃"}
        for i in range(n)
    ]
    results = [
        {
            "entry_id": f"E-{first + i}",
            "line_no": 1,
            "risk_score": (first + i) / 7,
            "risk_band": "low",
            "reasons": [{"code": "x"}],
        }
        for i in range(n)
    ]
    rows = AuditRows(request_id, "k").scored("score", MODEL, lines, results, latency_ms=1.25)
    return [dict(r) for r in rows]


def _outcome(store: AuditStore, entry_id: str) -> dict[str, Any]:
    """An officer's outcome for line 1 of a scored entry (its own audit row, chained too)."""
    decision = next(r["input_hash"] for r in store.audit_rows() if r["entry_id"] == entry_id)
    fb = {
        "entry_id": entry_id,
        "line_no": 1,
        "decision_id": decision,
        "inspected": True,
        "inspection_reason": "targeted",
        "violation": 1,
        "outcome": "detained",
        "note": None,
    }
    return record_outcome(store, fb, key_id="k", source="workbench", request_id="f")


def _direct(store: AuditStore, sql: str, **params: Any) -> None:
    """A change made straight in the database, as its administrator (or an intruder) would."""
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _verify_cli(url: str, *more: str) -> Any:
    return CliRunner().invoke(app, ["audit", "verify", "--url", url, *more])


def _ten(store: AuditStore) -> None:
    store.record(_rows(3, "a"))
    store.record(_rows(1, "b", first=3))
    store.record(_rows(6, "c", first=4))
    assert [r["id"] for r in store.audit_rows()] == list(range(1, 11))


def test_an_intact_chain_verifies_with_its_count(store: AuditStore) -> None:
    store.record(_rows(1, "one"))
    store.record(_rows(150, "many", first=1))  # a file job's chunk
    assert _outcome(store, "E-0")["line_status"] == "labelled"  # feedback, with its audit row
    store.record([dict(AuditRows("e", "k").event("workbench_export", {"rows": 3}, MODEL))])
    verdict = store.verify()
    assert verdict.ok and verdict.problem is None and verdict.broken_at is None
    assert (verdict.chained, verdict.legacy, verdict.chain_start) == (153, 0, 1)
    rows = store.audit_rows()
    assert verdict.head_hash == rows[-1]["row_hash"]
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(r["prev_hash"] == p["row_hash"] for p, r in itertools.pairwise(rows))
    res = _verify_cli(store.url)
    assert res.exit_code == 0, res.output
    assert "intact" in res.output and "153 rows" in res.output
    assert verdict.head_hash in res.output  # to note down outside the database
    store.record(_rows(2, "later", first=151))
    res = _verify_cli(store.url, "--head", verdict.head_hash)
    assert res.exit_code == 0 and "row 153's" in res.output, res.output
    res = _verify_cli(store.url, "--head", "f" * 64)
    assert res.exit_code == 1 and "noted head hash" in res.output, res.output


@pytest.mark.parametrize(
    ("change", "at", "says"),
    [
        ("UPDATE audit SET risk_score = 0.99 WHERE id = 4", 4, "changed after it was written"),
        ("UPDATE audit SET ts = '2020-01-01' WHERE id = 1", 1, "changed after it was written"),
        (
            'UPDATE audit SET input_json = \'{"entry_id":"E-3"}\' WHERE id = 4',
            4,
            "input was changed",
        ),
        ("UPDATE audit SET input_json = NULL WHERE id = 4", 4, "input was changed"),
        ("UPDATE audit SET input_hash = row_hash WHERE id = 4", 4, "changed after it was written"),
        (
            "UPDATE audit SET reasons_json = '{\"reasons\":[]}' WHERE id = 4",
            4,
            "changed after it was written",
        ),
        ("UPDATE audit SET risk_band = 'high' WHERE id = 10", 10, "changed after it was written"),
        ("UPDATE audit SET chain_form = NULL WHERE id = 4", 4, "changed after it was written"),
        ("DELETE FROM audit WHERE id = 6", 6, "row 6 is missing (deleted): row 7 follows row 5"),
        ("DELETE FROM audit WHERE id >= 9", 9, "rows 9-10 are missing (deleted)"),
    ],
)
def test_a_change_made_in_the_database_is_reported_at_its_row(
    store: AuditStore, change: str, at: int, says: str
) -> None:
    _ten(store)
    _direct(store, change)
    verdict = store.verify()
    assert (verdict.ok, verdict.broken_at) == (False, at)
    assert says in (verdict.problem or "")
    res = _verify_cli(store.url)
    assert res.exit_code == 1, res.output
    assert f"BROKEN at row {at}" in res.output and says in res.output
    assert "Traceback" not in res.output


def test_a_row_changed_and_rehashed_breaks_the_next_link(store: AuditStore) -> None:
    _ten(store)
    row = store.audit_rows()[3]  # id 4
    forged = row_hash({**row, "risk_score": 0.0}, HASHED, row["prev_hash"])
    _direct(store, "UPDATE audit SET risk_score = 0.0, row_hash = :h WHERE id = 4", h=forged)
    verdict = store.verify()
    assert not verdict.ok and verdict.broken_at == 5
    assert "row 4" in (verdict.problem or "")  # the link from row 4 to row 5


def test_a_row_put_in_a_removed_rows_place_breaks_the_next_link(store: AuditStore) -> None:
    """A row inserted where one was deleted, its hash made as the store would have."""
    _ten(store)
    row = store.audit_rows()[4]  # id 5
    forged = {**row, "risk_score": 0.0}
    forged["row_hash"] = row_hash(forged, HASHED, row["prev_hash"])
    _direct(store, "DELETE FROM audit WHERE id = 5")
    with store.engine.begin() as conn:
        conn.execute(audit.insert(), [forged])
    verdict = store.verify()
    assert not verdict.ok and verdict.broken_at == 6
    assert "link from row 5" in (verdict.problem or "")


def test_a_store_chained_by_the_older_form_verifies_and_chains_on(audit_url: str) -> None:
    """Rows hashed with their input's text, before the form column existed: kept valid, and
    a change to their input still found."""
    from models import audit_chain as chain

    old = MetaData()
    table = Table(
        "audit", old,
        *(Column(c.name, c.type, primary_key=c.primary_key) for c in audit.columns
          if c.name != chain.FORM),
    )  # fmt: skip
    kinds = {k: v for k, v in HASHED.items() if k != chain.FORM}
    rows = [{k: v for k, v in r.items() if k != chain.FORM} for r in _rows(4, "old")]
    chained = chain.extend(chain.prepare(rows, kinds), 0, chain.GENESIS)
    before = AuditStore(audit_url)
    old.create_all(before.engine)
    audit_head.to_metadata(old).create(before.engine)
    with before.engine.begin() as conn:
        conn.execute(table.insert(), chained)
        conn.execute(
            audit_head.insert(),
            {"id": 1, "chain_start": 1, "last_id": 4, "last_hash": chained[-1]["row_hash"]},
        )
    verdict = before.verify()  # read-only, before the new code's first start
    assert verdict.ok and (verdict.chained, verdict.legacy) == (4, 0)
    before.dispose()
    store = AuditStore(audit_url)  # what the server does at start: the column is added
    store.create()
    try:
        store.record(_rows(3, "new", first=4))
        written = store.audit_rows()
        assert [r[chain.FORM] for r in written] == [None] * 4 + [chain.BY_HASH] * 3
        verdict = store.verify()
        assert verdict.ok and (verdict.chained, verdict.legacy) == (7, 0)
        _direct(store, "UPDATE audit SET input_json = '{}' WHERE id = 2")
        verdict = store.verify()
        assert verdict.broken_at == 2 and "changed after it was written" in (verdict.problem or "")
    finally:
        store.dispose()


def test_rows_written_after_removed_ones_leave_the_first_break_reported(store: AuditStore) -> None:
    _ten(store)
    _direct(store, "DELETE FROM audit WHERE id >= 9")
    store.record(_rows(2, "later", first=10))  # the store goes on after the removed rows
    assert [r["id"] for r in store.audit_rows()][-3:] == [8, 11, 12]
    assert store.verify().broken_at == 9


def test_a_removed_hash_and_a_row_written_past_the_store_are_reported(store: AuditStore) -> None:
    _ten(store)
    _direct(store, "UPDATE audit SET row_hash = NULL WHERE id = 7")
    verdict = store.verify()
    assert not verdict.ok and verdict.broken_at == 7 and "no hash" in (verdict.problem or "")
    _direct(
        store, "UPDATE audit SET row_hash = :h WHERE id = 7", h=store.audit_rows()[7]["prev_hash"]
    )
    assert store.verify().ok
    _direct(
        store,
        "INSERT INTO audit (id, request_id, ts, key_id, action) "
        "VALUES (11, 'x', 'now', 'k', 'score')",
    )
    verdict = store.verify()
    assert not verdict.ok and verdict.broken_at == 11


def test_a_database_from_before_the_chain_is_chained_from_its_next_row(audit_url: str) -> None:
    old = MetaData()
    legacy = Table(
        "audit",
        old,
        *(
            Column(c.name, c.type, primary_key=c.primary_key)
            for c in audit.columns
            if c.name not in CHAIN_COLUMNS
        ),
    )
    before = AuditStore(audit_url)
    old.create_all(before.engine)
    with before.engine.begin() as conn:
        conn.execute(legacy.insert(), _rows(3, "old"))
    verdict = before.verify()  # read-only: nothing is migrated by verifying
    assert verdict.ok and (verdict.chained, verdict.legacy) == (0, 3)
    assert "no hash chain" in "\n".join(verdict.report())
    before.dispose()

    store = AuditStore(audit_url)  # what the server does at start
    store.create()
    try:
        store.record(_rows(2, "new", first=3))
        verdict = store.verify()
        assert verdict.ok and (verdict.chained, verdict.legacy, verdict.chain_start) == (2, 3, 4)
        report = "\n".join(verdict.report())
        assert "rows 1-3" in report and "before the chain" in report
        res = _verify_cli(audit_url)
        assert res.exit_code == 0 and "2 rows" in res.output, res.output
        # A chained row made to look older than the chain is not a way out.
        _direct(store, "UPDATE audit_chain SET chain_start = 5")
        verdict = store.verify()
        assert not verdict.ok and verdict.broken_at == 4
    finally:
        store.dispose()


def _refuse_audit_inserts(store: AuditStore) -> None:
    if store.url.startswith("sqlite"):
        _direct(
            store,
            "CREATE TRIGGER refuse BEFORE INSERT ON audit "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
    else:
        _direct(
            store,
            "CREATE FUNCTION refuse() RETURNS trigger AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
        )
        _direct(
            store,
            "CREATE TRIGGER refuse BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION refuse()",
        )


def test_the_readiness_probe_writes_and_leaves_nothing(store: AuditStore) -> None:
    store.record(_rows(2, "a"))
    head = store.verify().head_hash
    for _ in range(3):
        assert store.probe() is None
    assert len(store.audit_rows()) == 2 and store.verify().head_hash == head
    store.record(_rows(1, "b", first=2))
    assert [r["id"] for r in store.audit_rows()] == [1, 2, 3]  # the probes took no id
    assert store.verify().ok
    _refuse_audit_inserts(store)  # reads still work; writes do not
    assert len(store.audit_rows()) == 3
    problem = store.probe()
    assert problem is not None and "audit write failed" in problem


def _recipe() -> list[str]:
    """The SQL of docs/reliability.md's PostgreSQL recipe, statement by statement."""
    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text()
    (block,) = [b for b in re.findall(r"```sql\n(.*?)```", doc, flags=re.S) if "GRANT" in b]
    return [s.strip() for s in block.split(";") if s.strip()]


def test_the_api_role_can_append_but_not_rewrite(pg: PgCluster) -> None:
    """The roles of docs/reliability.md, run as written: the tables made by their owner at the
    first start, the API's role adds rows and moves the head, never changes or removes a row."""
    import psycopg

    pg.create_db("audit_roles")
    owner = AuditStore(pg.url("audit_roles"))  # the first start, with the owner's URL
    owner.create()
    owner.record(_rows(2, "owner"))
    owner.dispose()
    dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname=audit_roles"
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in _recipe():
            conn.execute(statement)
    api = AuditStore(pg.url("audit_roles").replace("postgres@", "flrisk_api@"))
    try:
        api.create()  # a chained store: nothing to migrate, no lock needed
        assert api.record(_rows(3, "api", first=2)) == 3
        assert _outcome(api, "E-2")["line_status"] == "labelled"  # feedback and its status
        assert api.probe() is None
        # A drift episode (its alert, outbox row, closing) and a request's shadow scores,
        # each with its audit row.
        moved = DriftReport((MeasureDrift("score", 0.5, "(0.1, 0.2]", 0.1, 0.4),), 1000, 9, 0.2)
        window = DriftWindow(1000, 10_000, now_iso(), now_iso())
        assert raise_drift_alert(api, MODEL, moved, window, ["http://screening/hook"])
        assert clear_drift(api, MODEL, DriftReport((), 1000, 9, 0.2))
        shadow = {
            "ts": now_iso(),
            "request_id": "r",
            "entry_id": "E-2",
            "line_no": 1,
            "champion_version": "a",
            "champion_score": 0.5,
            "champion_band": "low",
            "challenger_version": "b",
            "challenger_score": 0.4,
            "challenger_band": "low",
        }
        ShadowScores(api).record([shadow], AuditRows("r", "-").event("shadow_score"))
        assert Alerts(api).recent(kind="drift")[0]["kind"] == "drift"
        assert ShadowScores(api).with_outcomes()[0]["violation"] == 1  # E-2's outcome
        verdict = api.verify()
        assert verdict.ok and verdict.chained == 9
        for sql in ("UPDATE audit SET risk_score = 0 WHERE id = 1", "DELETE FROM audit",
                    "TRUNCATE audit"):  # fmt: skip
            with pytest.raises(ProgrammingError, match="permission denied"):
                _direct(api, sql)
    finally:
        api.dispose()


def test_verify_of_a_missing_store_says_so_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "audit.db"
    res = _verify_cli(f"sqlite:///{path}")
    assert res.exit_code == 2 and "no audit database file" in res.output, res.output
    assert "Traceback" not in res.output and not path.exists()
