"""The store's exploration picks: replaced with an audit row, and outcomes on them are random."""

from __future__ import annotations

from pathlib import Path

from test_feedback_resolution import LINE, _scored

from models.audit_rows import AuditRows
from models.feedback import record_outcome
from models.store import AuditStore, ExplorationPicks


def _outcome(store: AuditStore, decision: str, reason: str) -> dict:
    item = {"entry_id": LINE["entry_id"], "line_no": LINE["line_no"], "decision_id": decision,
            "inspected": True, "inspection_reason": reason, "violation": 0,
            "outcome": "released", "note": None}  # fmt: skip
    return record_outcome(store, item, key_id="k", source="api", request_id="r")


def test_picks_are_replaced_audited_and_make_an_outcome_random(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'a.db'}")
    store.create()
    decision = _scored(store, LINE)
    picks = ExplorationPicks(store)
    assert _outcome(store, decision, "targeted")["inspection_reason"] == "targeted"
    pick = {"entry_id": LINE["entry_id"], "line_no": LINE["line_no"], "decision_id": decision}
    rows = AuditRows("sel-1", "k")
    picks.replace("wl1", "worklist", [pick], capacity=20, explore=0.05, seed=7, ts=rows.ts,
                  audit_rows=[rows.event("workbench_selection", {"n": 1})])  # fmt: skip
    assert [p["entry_id"] for p in picks.current("wl1")] == [LINE["entry_id"]]
    assert picks.is_pick(LINE["entry_id"], LINE["line_no"], decision)
    assert not picks.is_pick(LINE["entry_id"], LINE["line_no"], "0" * 64)  # other content
    assert _outcome(store, decision, "targeted")["inspection_reason"] == "random"
    assert store.feedback_for(LINE["entry_id"])[-1]["inspection_reason"] == "random"
    # A new selection replaces the old picks; every change is on the audit chain.
    picks.replace("wl1", "worklist", [], capacity=20, explore=0.0, seed=7, ts=rows.ts,
                  audit_rows=[rows.event("workbench_selection", {"n": 0})])  # fmt: skip
    assert picks.current("wl1") == [] and not picks.is_pick(LINE["entry_id"], 1, decision)
    actions = [r["action"] for r in store.audit_rows()]
    assert actions.count("workbench_selection") == 2
    assert store.verify().broken_at is None
