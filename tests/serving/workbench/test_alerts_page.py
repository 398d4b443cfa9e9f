"""The workbench's Alerts page through TestClient: scope, count, filters, acknowledge (CSRF,
audited), the entry line, partner alerts decided by an admin only."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from test_workbench import csrf_of, sign_in

from models.audit_rows import AuditRows, ModelStamp
from models.reference.versions import current_version
from models.store import Alerts, AuditStore, PartnerChanges


def _alert(audit_id: int, entry: str, kind: str) -> dict[str, Any]:
    return {
        "alert_key": f"key-{entry}", "kind": kind, "entry_id": entry, "line_no": 1,
        "audit_id": audit_id, "entry_date": "2025-03-01", "party_role": "manufacturer",
        "party_name": f"NAME OF {entry}", "entity_id": "UFLPA-9", "entity_name": "Listed Co",
        "list": "UFLPA", "effective_date": "2025-01-01", "citation": "90 FR 1",
        "similarity": 96.0, "evidence_json": '{"declared": "x"}', "reference_version": "0002-x",
        "change": "added", "score_then": 0.1, "score_now": 0.8,
    }  # fmt: skip


@pytest.fixture
def seeded(make_client: Callable[..., Any]) -> SimpleNamespace:
    client, keys, settings = make_client()
    store = AuditStore(settings.audit_store_url())
    store.create()
    line = {"entry_id": "AL-1", "line_no": 1, "manufacturer_name": "DECLARED MAKER LTD"}
    res = {"entry_id": "AL-1", "line_no": 1, "risk_score": 0.1, "risk_band": "low", "reasons": []}
    store.record(AuditRows("r", "k").scored("score", ModelStamp("m", "h"), [line], [res], 1.0))
    audit_id = store.audit_rows()[-1]["id"]
    Alerts(store).add([_alert(audit_id, "AL-1", "presumed"), _alert(audit_id, "AL-2", "matched")])
    change = PartnerChanges(store).add(
        "partner-eu",
        {"entity": "Wombat Works", "aliases": [], "basis": "EU", "authority": "EU Commission",
         "effective_date": "2025-05-01", "goods_scope_hs": []},
    )  # fmt: skip
    return SimpleNamespace(client=client, keys=keys, settings=settings, store=store, change=change)


def test_alerts_need_the_alerts_scope(seeded: SimpleNamespace) -> None:
    csrf = sign_in(seeded.client, seeded.keys["scorer"])
    assert "/alerts" not in seeded.client.get("/worklists").text
    assert seeded.client.get("/alerts").status_code == 403
    # Nor may such an officer decide a partner alert.
    form = {"csrf_token": csrf, "decision": "approve"}
    assert seeded.client.post(f"/alerts/partners/{seeded.change}", data=form).status_code == 403
    assert PartnerChanges(seeded.store).get(seeded.change)["status"] == "pending"


def test_count_filters_acknowledge_and_entry(seeded: SimpleNamespace) -> None:
    c = seeded.client
    csrf = sign_in(c, seeded.keys["admin"])
    page = c.get("/alerts")
    assert page.status_code == 200
    assert 'aria-label="2 new"' in page.text
    assert "AL-1 / 1" in page.text and "AL-2 / 1" in page.text
    only = c.get("/alerts", params={"kind": "matched"}).text
    assert "AL-2 / 1" in only and "AL-1 / 1" not in only
    first = next(a for a in Alerts(seeded.store).recent() if a["entry_id"] == "AL-1")
    assert c.post(f"/alerts/{first['id']}/ack", data={"csrf_token": "forged"}).status_code == 403
    r = c.post(f"/alerts/{first['id']}/ack", data={"csrf_token": csrf})
    assert r.status_code == 200 and "acknowledged" in r.text
    assert 'aria-label="1 new"' in r.text
    assert Alerts(seeded.store).get(first["id"])["ack_by"] == "admin"
    assert [x["action"] for x in seeded.store.audit_rows()].count("alert_ack") == 1
    entry = c.get(f"/alerts/{first['id']}")
    assert "Entry AL-1, line 1: presumed" in entry.text
    assert "DECLARED MAKER LTD" in entry.text  # the line as it was scored
    assert c.get("/alerts/999999").status_code == 404


def test_partner_alert_is_approved_by_an_admin_only(seeded: SimpleNamespace) -> None:
    c = seeded.client
    csrf = sign_in(c, seeded.keys["admin"])
    assert "Wombat Works" in c.get("/alerts").text
    r = c.post(
        f"/alerts/partners/{seeded.change}", data={"csrf_token": csrf, "decision": "approve"}
    )
    assert r.status_code == 200
    assert PartnerChanges(seeded.store).get(seeded.change)["status"] == "approved"
    assert current_version(seeded.settings.reference_root()) != "shipped"
    again = c.post(
        f"/alerts/partners/{seeded.change}",
        data={"csrf_token": csrf_of(r.text), "decision": "reject"},
    )
    assert again.status_code == 409
