"""Drift alerts through the trade-alert mechanism, without a model: one alert per crossing
episode (kept in the store), a new one after the drift fell back and crossed again, audited,
queued for screening systems' webhooks and never for partner authorities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from models.alerts.drift import DriftWindow, clear_drift, open_episode, raise_drift_alert
from models.alerts.messages import PARTNER_TYPES, deliveries, enforcement_action
from models.audit_rows import ModelStamp
from models.scoring.drift import DriftReport, MeasureDrift
from models.store import Alerts, AuditStore, DriftEpisodes
from models.store.outbox import outbox

MODEL = ModelStamp("models:/flrisk/3", "bundle-one")
WINDOW = DriftWindow(1_200, 10_000, "2026-12-03T10:00:00+00:00", "2026-12-03T11:00:00+00:00")
SCREEN, PARTNER = "http://screening.example/hook", "http://partner.example/hook"


def _report(psi: float) -> DriftReport:
    measures = (
        MeasureDrift("presumption", psi, "yes", 0.02, 0.41),
        MeasureDrift("score", 0.05, "(0.1, 0.2]", 0.10, 0.12),
    )
    return DriftReport(measures, lines=1_200, reference_lines=5_000, threshold=0.2)


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    s.create()
    return s


def _outbox(store: AuditStore) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.url, outbox.c.kind, outbox.c.idempotency_key))
        return [tuple(r) for r in rows]


def _raise(store: AuditStore, psi: float = 0.9, model: ModelStamp = MODEL) -> dict | None:
    return raise_drift_alert(store, model, _report(psi), WINDOW, [SCREEN], [PARTNER])


def test_a_crossing_raises_one_alert_naming_model_measures_threshold_window(
    store: AuditStore,
) -> None:
    alert = _raise(store)
    assert alert is not None
    assert alert["type"] == "drift_alert" and alert["kind"] == "drift"
    assert alert["model_version"] == "models:/flrisk/3" and alert["episode"] == 1
    assert alert["threshold"] == 0.2 and alert["status"] == "new"
    # Only the measures above the threshold, with their PSI and the bin that moved.
    assert alert["measures"] == [
        {"measure": "presumption", "psi": 0.9, "moved": "yes", "reference_share": 0.02,
         "share": 0.41}
    ]  # fmt: skip
    assert alert["window"] == WINDOW.as_dict()
    # The same crossing, seen again by later checks (or after a restart): nothing new.
    assert _raise(store) is None and _raise(store, psi=2.0) is None
    assert [a["id"] for a in Alerts(store).recent(kind="drift")] == [alert["id"]]
    assert Alerts(store).recent(kind="presumed") == []
    assert Alerts(store).count("new") == 1  # the workbench's nav count includes it
    rows = [r for r in store.audit_rows() if r["action"] == "drift_alert"]
    assert len(rows) == 1 and rows[0]["model_version"] == MODEL.version
    assert json.loads(rows[0]["input_json"])["measures"] == alert["measures"]
    assert store.verify().ok


def test_queued_for_screening_systems_never_for_partners(store: AuditStore) -> None:
    alert = _raise(store)
    assert alert is not None
    assert _outbox(store) == [(SCREEN, "drift_alert", alert["idempotency_key"])]
    with store.engine.connect() as conn:
        (body,) = conn.execute(select(outbox.c.body_json)).scalars()
    assert json.loads(body) == alert  # the webhook body is the alert as the API gives it


def test_partners_receive_enforcement_actions_only() -> None:
    action = enforcement_action(
        {"entity_id": "UFLPA-1", "name": "Listed Co", "list": "UFLPA",
         "effective_date": "2025-01-15"}, "0002-x",
    )  # fmt: skip
    line = {"type": "line_alert", "idempotency_key": "k-line"}
    drift = {"type": "drift_alert", "idempotency_key": "k-drift"}
    routed = dict((tuple(u), [m["kind"] for m in ms]) for u, ms in
                  deliveries([action, line, drift], [SCREEN], [PARTNER]))  # fmt: skip
    assert routed == {
        (SCREEN,): ["enforcement_action", "line_alert", "drift_alert"],
        (PARTNER,): ["enforcement_action"],
    }
    assert {"enforcement_action"} == PARTNER_TYPES
    # Nothing for partners at all when there is no enforcement action.
    assert [urls for urls, _ in deliveries([drift], [SCREEN], [PARTNER])] == [[SCREEN]]


def test_fallen_back_then_crossed_again_is_a_new_episode(store: AuditStore) -> None:
    first = _raise(store)
    assert first is not None and open_episode(store, MODEL)
    assert clear_drift(store, MODEL, _report(0.05))
    assert not open_episode(store, MODEL)
    assert not clear_drift(store, MODEL, _report(0.05))  # nothing open: nothing written
    second = _raise(store)
    assert second is not None and second["episode"] == 2
    assert second["idempotency_key"] != first["idempotency_key"]
    actions = [r["action"] for r in store.audit_rows()]
    assert actions.count("drift_alert") == 2 and actions.count("drift_clear") == 1
    episodes = DriftEpisodes(store).recent()
    assert [(e["episode"], e["cleared_ts"] is None) for e in episodes] == [(2, True), (1, False)]
    assert [e["alert_id"] for e in episodes] == [second["id"], first["id"]]
    assert store.verify().ok


def test_each_model_has_its_own_episode(store: AuditStore) -> None:
    assert _raise(store) is not None
    other = ModelStamp("models:/flrisk/4", "bundle-two")
    alert = _raise(store, model=other)
    assert alert is not None and alert["episode"] == 1 and alert["model_version"] == other.version
    assert len(Alerts(store).recent(kind="drift")) == 2


def test_nothing_is_written_when_the_write_fails(store: AuditStore, monkeypatch) -> None:
    # A failure inside the transaction (here: the outbox) leaves no alert, episode or audit row.
    from models.store.outbox import Outbox

    def broken(*_args, **_kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(Outbox, "enqueue_on", broken)
    before = len(store.audit_rows())
    with pytest.raises(Exception, match="drift alert failed"):
        _raise(store)
    assert Alerts(store).recent() == [] and DriftEpisodes(store).recent() == []
    assert len(store.audit_rows()) == before
