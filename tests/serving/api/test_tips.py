"""Tips: filed, deduplicated, triaged, and evidence on later lines of the parties they name."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
from servetools import auth, lines_json

SUPPLIER = "Tianshan Bright Cotton Textile Co., Ltd."
# How an NGO spells it: another legal form, other case and punctuation (resolved as one).
TIP = {
    "parties": [{"role": "manufacturer", "name": "TIANSHAN BRIGHT COTTON TEXTILE LIMITED",
                 "address": "Aksu, Xinjiang"}],
    "goods": [{"hs": "5201", "description": "raw cotton"}],
    "country": "CN",
    "allegation": "Workers transferred under a labour programme.",
    "source_type": "ngo",
    "received_date": "2024-03-02",
}  # fmt: skip


def _lines(model_source: Any) -> list[dict[str, Any]]:
    """Four lines: the supplier after the tip (as manufacturer, as shipper), before it, other."""
    rows = lines_json(model_source.lines.head(4))
    for i, r in enumerate(rows):
        r.update(entry_id=f"TIP-{i}", line_no=1, shipper_name="OTHER SHIPPING CO")
    rows[0].update(manufacturer_name=SUPPLIER, entry_date="2024-03-02")
    rows[1].update(manufacturer_name="ANOTHER MILL", shipper_name=SUPPLIER.upper(),
                   entry_date="2024-05-01")  # fmt: skip
    rows[2].update(manufacturer_name=SUPPLIER, entry_date="2024-03-01")  # before the tip
    rows[3].update(manufacturer_name="ANOTHER MILL", entry_date="2024-05-01")
    return rows


def _tip_reasons(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {r["entry_id"]: [x for x in r["reasons"] if x["code"] == "tip"] for r in results}


def _score(api: SimpleNamespace, lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["admin"]))
    assert r.status_code == 200, r.text
    return _tip_reasons(r.json()["results"])


def _score_file(api: SimpleNamespace, lines: list[dict[str, Any]]) -> dict[str, list[Any]]:
    data = pd.DataFrame(lines).to_csv(index=False).encode()
    r = api.client.post("/v1/score/file", files={"file": ("day.csv", data, "text/csv")},
                        data={"explain_share": "0"}, headers=auth(api.keys["admin"]))  # fmt: skip
    assert r.status_code == 200, r.text
    return _tip_reasons([ln for e in r.json()["entries"] for ln in e["lines"]])


def test_a_tip_is_evidence_on_later_lines_of_its_supplier_until_dismissed(
    api: SimpleNamespace, model_source: Any
) -> None:
    lines = _lines(model_source)
    assert all(not v for v in _score(api, lines).values())

    r = api.client.post("/v1/tips", json=TIP, headers=auth(api.keys["admin"]))
    assert r.status_code == 201, r.text
    tip = r.json()
    assert tip["status"] == "new" and tip["duplicate_of"] is None
    # The next request sees it: no restart, no reload.
    for got in (_score(api, lines), _score_file(api, lines)):
        assert [len(got[f"TIP-{i}"]) for i in range(4)] == [1, 1, 0, 0]
        reason = got["TIP-0"][0]
        assert reason["direction"] == "raises"
        assert reason["text"] == (
            f"An allegation received 2024-03-02 from an NGO names this manufacturer "
            f"(tip {tip['id']})."
        )
        assert reason["evidence"]["tip_id"] == tip["id"]
        assert "names this shipper" in got["TIP-1"][0]["text"]

    triage = {"status": "corroborated", "note": "matches a partner agency's report"}
    r = api.client.patch(f"/v1/tips/{tip['id']}", json=triage, headers=auth(api.keys["admin"]))
    assert r.status_code == 200 and r.json()["triaged_by"] == "admin"
    assert _score(api, lines)["TIP-0"][0]["text"].startswith("A corroborated allegation")

    dismiss = {"status": "dismissed", "note": "the mill closed in 2022"}
    r = api.client.patch(f"/v1/tips/{tip['id']}", json=dismiss, headers=auth(api.keys["admin"]))
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert all(not v for v in _score(api, lines).values())
    assert all(not v for v in _score_file(api, lines).values())


def test_a_repeated_tip_is_linked_as_a_duplicate_not_a_new_lead(api: SimpleNamespace) -> None:
    h = auth(api.keys["admin"])
    first = api.client.post("/v1/tips", json=TIP, headers=h).json()
    party = {"role": "shipper", "name": "Tianshan Bright Cotton Textile Co Ltd"}
    again = {**TIP, "source_type": "anonymous", "received_date": "2024-04-01", "goods": [],
             "parties": [party]}  # fmt: skip
    second = api.client.post("/v1/tips", json=again, headers=h).json()
    assert second["duplicate_of"] == first["id"]
    other_country = {**again, "country": "VN"}
    third = api.client.post("/v1/tips", json=other_country, headers=h).json()
    assert third["duplicate_of"] is None  # same name, but other goods and country
    assert api.client.get(f"/v1/tips/{first['id']}", headers=h).json()["duplicates"] == [
        second["id"]
    ]
    listed = api.client.get("/v1/tips?status=new", headers=h).json()["tips"]
    assert [t["id"] for t in listed] == [third["id"], second["id"], first["id"]]


def test_triage_rules_scope_and_audit(api: SimpleNamespace) -> None:
    h = auth(api.keys["admin"])
    tip = api.client.post("/v1/tips", json=TIP, headers=h).json()
    # A key without the tips scope may neither file nor read tips.
    assert (
        api.client.post("/v1/tips", json=TIP, headers=auth(api.keys["scorer"])).status_code == 403
    )
    assert api.client.get("/v1/tips", headers=auth(api.keys["officer"])).status_code == 403
    url = f"/v1/tips/{tip['id']}"
    r = api.client.patch(url, json={"status": "dismissed", "note": " "}, headers=h)
    assert r.status_code == 422 and "say why" in r.text
    assert (
        api.client.patch(url, json={"status": "dismissed", "note": "hoax"}, headers=h).status_code
        == 200
    )
    r = api.client.patch(url, json={"status": "corroborated", "note": "x"}, headers=h)
    assert r.status_code == 422 and "is dismissed" in r.text
    assert (
        api.client.patch(
            "/v1/tips/999", json={"status": "dismissed", "note": "x"}, headers=h
        ).status_code
        == 404
    )
    bad = {**TIP, "parties": [{"role": "broker", "name": "X"}]}
    assert api.client.post("/v1/tips", json=bad, headers=h).status_code == 422
    rows = api.client.app.state.store.audit_rows()
    actions = [r["action"] for r in rows if r["action"].startswith("tip_")]
    assert actions == ["tip_file", "tip_triage"]
    assert api.client.app.state.store.verify().problem is None
