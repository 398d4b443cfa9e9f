"""Who wins when outcomes disagree, and what the store keeps of it across restarts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text

from models.audit_rows import AuditRows, ModelStamp
from models.feedback import LABELLED, REVIEW, load_feedback_lines, record_outcome, resolve
from models.settings import Settings
from models.store import AuditStore

LINE = {"entry_id": "E-1", "line_no": 1, "entry_date": "2025-03-01", "hts_code": "6109.10.0012",
        "country_of_origin": "CN"}  # fmt: skip
COLUMNS = [*LINE, "inspected", "inspection_reason", "violation"]


def _rec(i: int, key: str, source: str | None, violation: int | None, **kw: object) -> dict:
    return {"id": i, "key_id": key, "source": source, "inspected": True,
            "inspection_reason": "targeted", "violation": violation, **kw}  # fmt: skip


def test_an_officer_outranks_a_system_whatever_the_order():
    officer, system = _rec(1, "o1", "workbench", 1), _rec(2, "sys", "api", 0)
    assert resolve([officer, system]) == resolve([system, officer]) == (LABELLED, 1)


def test_a_voice_corrects_itself_and_disagreeing_peers_go_to_review():
    assert resolve([_rec(1, "o1", "workbench", 1), _rec(2, "o1", "workbench", 0)]) == (
        LABELLED, 2,
    )  # fmt: skip
    two = [_rec(1, "o1", "workbench", 1), _rec(2, "o2", "workbench", 0)]
    assert resolve(two).status == REVIEW and resolve(two).feedback_id is None
    # Systems disagreeing among themselves also go to review, unless an officer has spoken.
    systems = [_rec(1, "s1", "api", 1), _rec(2, "s2", "api", 0)]
    assert resolve(systems).status == REVIEW
    assert resolve([*systems, _rec(3, "o1", "workbench", 0)]) == (LABELLED, 3)
    # Agreeing peers: the latest record is in force; the inspection reason is part of a label.
    assert resolve([_rec(1, "o1", "workbench", 1), _rec(2, "o2", "workbench", 1)]) == (
        LABELLED, 2,
    )  # fmt: skip
    tip = _rec(2, "o2", "workbench", 1, inspection_reason="tip")
    assert resolve([_rec(1, "o1", "workbench", 1), tip]).status == REVIEW


def _scored(store: AuditStore, line: dict) -> str:
    result = {"entry_id": line["entry_id"], "line_no": line["line_no"], "risk_score": 0.1,
              "risk_band": "low", "reasons": []}  # fmt: skip
    (row,) = AuditRows("r", "k").scored("score", ModelStamp("m", "h"), [line], [result], 1.0)
    store.record([row])
    return str(row["input_hash"])


def _outcome(decision: str, violation: int) -> dict:
    return {"entry_id": "E-1", "line_no": 1, "decision_id": decision, "inspected": True,
            "inspection_reason": "targeted", "violation": violation, "outcome": None,
            "note": None}  # fmt: skip


def test_status_is_stored_audited_and_survives_a_restart(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, bootstrap_key=False)
    store = AuditStore(settings.audit_store_url())
    decision = _scored(store, LINE)
    record_outcome(store, _outcome(decision, 1), key_id="o1", source="workbench", request_id="a")
    out = record_outcome(store, _outcome(decision, 0), key_id="o2", source="workbench",
                         request_id="b")  # fmt: skip
    assert out["line_status"] == REVIEW and out["label_feedback_id"] is None
    audited = [r for r in store.audit_rows() if r["action"] == "feedback"]
    assert len(audited) == 2 and '"line_status":"review"' in str(audited[1]["input_json"])
    store.dispose()
    again = AuditStore(settings.audit_store_url())  # a restart: a new engine on the same file
    assert {r["line_status"] for r in again.feedback_for("E-1")} == {REVIEW}
    assert load_feedback_lines(settings, COLUMNS).under_review == {("E-1", 1)}
    again.dispose()


def test_a_store_from_before_decision_ids_is_migrated_and_its_feedback_still_read(
    tmp_path: Path,
):
    settings = Settings(data_dir=tmp_path, bootstrap_key=False)
    url = settings.audit_store_url()
    store = AuditStore(url)
    store.create()
    _scored(store, LINE)
    store.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # the old schema: no decision_id, no source, no status
        conn.execute(text("DROP TABLE feedback"))
        conn.execute(text("DROP TABLE feedback_lines"))
        conn.execute(text(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY, ts VARCHAR(32) NOT NULL, "
            "key_id VARCHAR(64) NOT NULL, entry_id VARCHAR(128) NOT NULL, line_no INTEGER "
            "NOT NULL, inspected BOOLEAN NOT NULL, inspection_reason VARCHAR(16), "
            "violation INTEGER, outcome VARCHAR(64), note TEXT)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO feedback (ts, key_id, entry_id, line_no, inspected, inspection_reason,"
            " violation) VALUES ('9999-01-01', 'old', 'E-1', 1, 1, 'targeted', 1)"
        ))  # fmt: skip
    engine.dispose()
    store = AuditStore(url)
    # Re-scored with other content after the old outcome: the outcome keeps its content.
    changed = {**LINE, "country_of_origin": "DE"}
    rows = AuditRows("r2", "k").scored(
        "score", ModelStamp("m", "h"), [changed],
        [{"entry_id": "E-1", "line_no": 1, "risk_score": 0.1, "risk_band": "low",
          "reasons": []}], 1.0,
    )  # fmt: skip
    rows[0]["ts"] = "9999-12-31"
    store.record(rows)
    got = load_feedback_lines(settings, COLUMNS).frame
    assert got[["entry_id", "country_of_origin", "violation"]].to_dict("records") == [
        {"entry_id": "E-1", "country_of_origin": "CN", "violation": 1.0}
    ]
    # New outcomes write to the migrated table.
    new = record_outcome(store, _outcome(rows[0]["input_hash"], 0), key_id="o1",
                         source="workbench", request_id="c")  # fmt: skip
    assert new["line_status"] == LABELLED
    got = load_feedback_lines(settings, COLUMNS).frame
    assert pd.Series(got["country_of_origin"]).tolist() == ["DE"]
    store.dispose()
