"""Cases: opened on scored lines, changed, closed, kept across a restart, labels for training."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from servetools import auth, lines_json

from models.cases import cases_of_entries
from models.feedback import load_feedback_lines

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIP = {"parties": [{"role": "manufacturer", "name": "Aksu Mill"}], "allegation": "forced labour",
       "source_type": "partner_agency", "received_date": "2024-01-05"}  # fmt: skip


def _scored(api: SimpleNamespace, model_source: Any, n: int = 3) -> list[dict[str, Any]]:
    lines = lines_json(model_source.lines.head(n))
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["admin"]))
    assert r.status_code == 200, r.text
    return r.json()["results"]


def test_a_case_through_its_flow_survives_a_restart_and_labels_its_lines(
    api: SimpleNamespace, model_source: Any, make_client: Callable[..., Any]
) -> None:
    h = auth(api.keys["admin"])
    first, second, _ = _scored(api, model_source)
    tip = api.client.post("/v1/tips", json=TIP, headers=h).json()
    lines = [{"entry_id": first["entry_id"], "line_no": first["line_no"]},
             {"entry_id": second["entry_id"], "line_no": second["line_no"],
              "decision_id": second["decision_id"]}]  # fmt: skip
    r = api.client.post("/v1/cases", json={"lines": lines, "tip_ids": [tip["id"]],
                        "date": "2024-03-20", "note": "held at the port"}, headers=h)  # fmt: skip
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert case["status"] == "detained" and case["owner"] == "admin"
    assert case["inspection_reason"] == "tip" and case["tip_ids"] == [tip["id"]]
    # A line named without its decision is tied to its latest audited scoring.
    assert {ln["decision_id"] for ln in case["lines"]} == {
        first["decision_id"],
        second["decision_id"],
    }

    steps = [
        {"owner": "officer.lee"},
        {"note": "importer asked for an admissibility review"},
        {"status": "admissibility_review", "date": "2024-04-01"},
    ]
    for change in steps:
        r = api.client.patch(f"/v1/cases/{cid}", json=change, headers=h)
        assert r.status_code == 200, r.text
    r = api.client.post(f"/v1/cases/{cid}/documents", files={"file": ("photo.png", PNG)}, headers=h)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["media_type"] == "image/png" and doc["size"] == len(PNG)
    r = api.client.patch(f"/v1/cases/{cid}", json={"status": "excluded", "date": "2024-05-02"},
                         headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "excluded" and closed["closed_at"]
    assert closed["dates"] == {"detained": "2024-03-20", "admissibility_review": "2024-04-01",
                               "excluded": "2024-05-02"}  # fmt: skip
    trail = closed["trail"]
    assert [s["action"] for s in trail] == ["open", "owner", "note", "status", "document", "status"]
    assert all(s["row_hash"] and s["actor"] == "admin" for s in trail)
    audit = {r["id"]: r for r in api.client.app.state.store.audit_rows()}
    assert [audit[s["audit_id"]]["action"] for s in trail] == [
        "case_open", "case_owner", "case_note", "case_status", "case_document", "case_status",
    ]  # fmt: skip
    # A closed case is final.
    r = api.client.patch(f"/v1/cases/{cid}", json={"note": "late"}, headers=h)
    assert r.status_code == 422 and "closed" in r.text

    # A new app on the same store (a restart) serves the same case and document.
    other, _, _ = make_client(settings=api.settings)
    again = other.get(f"/v1/cases/{cid}", headers=h)
    assert (
        again.status_code == 200
        and again.json() == api.client.get(f"/v1/cases/{cid}", headers=h).json()
    )
    assert again.json()["status"] == "excluded"
    got = other.get(f"/v1/cases/{cid}/documents/{doc['id']}", headers=h)
    assert got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-sha256"] == doc["sha256"]
    listed = other.get("/v1/cases?status=excluded", headers=h).json()["cases"]
    assert [c["id"] for c in listed] == [cid]
    assert other.get("/v1/cases?status=detained", headers=h).json()["cases"] == []

    # A party profile finds the case by the party's entries.
    held = cases_of_entries(api.client.app.state.store, [first["entry_id"], "OTHER"])
    assert [c["id"] for c in held] == [cid]

    # The outcome is the lines' label for the next training run (violation 1, reason tip).
    columns = [*model_source.lines.columns]
    labels = load_feedback_lines(api.settings, columns).frame.set_index(["entry_id", "line_no"])
    assert len(labels) == 2
    for line in (first, second):
        row = labels.loc[(line["entry_id"], line["line_no"])]
        assert bool(row["inspected"]) and row["violation"] == 1.0
        assert row["inspection_reason"] == "tip"
    assert api.client.app.state.store.verify().problem is None


def test_released_is_no_violation_and_the_flow_is_enforced(
    api: SimpleNamespace, model_source: Any
) -> None:
    h = auth(api.keys["admin"])
    line, more = _scored(api, model_source, 2)
    body = {"lines": [{"entry_id": line["entry_id"], "line_no": line["line_no"]}]}
    cid = api.client.post("/v1/cases", json=body, headers=h).json()["id"]
    url = f"/v1/cases/{cid}"
    r = api.client.patch(url, json={"status": "released"}, headers=h)
    assert r.status_code == 422 and "admissibility_review" in r.text  # no skipping the review
    added = {"lines": [{"entry_id": more["entry_id"], "line_no": more["line_no"]}]}
    r = api.client.patch(url, json=added, headers=h)
    assert r.status_code == 200 and len(r.json()["lines"]) == 2
    assert r.json()["trail"][-1]["action"] == "link_lines"
    api.client.patch(url, json={"status": "admissibility_review"}, headers=h)
    assert api.client.patch(url, json={"status": "released"}, headers=h).status_code == 200
    labels = load_feedback_lines(api.settings, [*model_source.lines.columns]).frame
    assert labels["violation"].tolist() == [0.0, 0.0]
    assert labels["inspection_reason"].tolist() == ["targeted", "targeted"]


def test_bad_cases_and_documents_are_refused(api: SimpleNamespace, model_source: Any) -> None:
    h = auth(api.keys["admin"])
    line = _scored(api, model_source, 1)[0]
    never = {"lines": [{"entry_id": "NEVER-SCORED", "line_no": 1}]}
    r = api.client.post("/v1/cases", json=never, headers=h)
    assert r.status_code == 422 and "never scored" in r.text
    wrong = {"lines": [{"entry_id": line["entry_id"], "line_no": line["line_no"],
                        "decision_id": "0" * 64}]}  # fmt: skip
    assert api.client.post("/v1/cases", json=wrong, headers=h).status_code == 422
    assert api.client.post("/v1/cases", json={"lines": []}, headers=h).status_code == 422
    ok = {"lines": [{"entry_id": line["entry_id"], "line_no": line["line_no"]}]}
    assert (
        api.client.post("/v1/cases", json=ok, headers=auth(api.keys["officer"])).status_code == 403
    )
    cid = api.client.post("/v1/cases", json=ok, headers=h).json()["id"]
    url = f"/v1/cases/{cid}/documents"
    for name, content, why in (
        ("report.pdf", b"just some text", "text/plain, but the name ends in .pdf"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00", "not PDF, PNG, JPEG, text or CSV"),
        ("empty.txt", b"", "empty"),
        ("big.txt", b"a" * (5 * 1024 * 1024 + 1), "larger than"),
    ):
        r = api.client.post(url, files={"file": (name, content)}, headers=h)
        assert r.status_code == 422 and why in r.text, (name, r.text)
    r = api.client.post(url, files={"file": ("rows.csv", b"a,b\n1,2\n")}, headers=h)
    assert r.status_code == 201 and r.json()["media_type"] == "text/csv"
    assert api.client.get(f"/v1/cases/{cid}/documents/999", headers=h).status_code == 404
    assert api.client.get("/v1/cases/999", headers=h).status_code == 404
    assert api.client.patch(f"/v1/cases/{cid}", json={}, headers=h).status_code == 422
    paths = api.client.get("/openapi.json").json()["paths"]
    for path, method, codes in (
        ("/v1/cases", "post", {"201", "401", "403", "413", "422", "429", "503"}),
        ("/v1/cases/{case_id}", "patch", {"200", "401", "403", "404", "422", "429", "503"}),
        ("/v1/cases/{case_id}/documents", "post", {"201", "404", "413", "422", "503"}),
        ("/v1/tips", "post", {"201", "401", "403", "413", "422", "429", "503"}),
        ("/v1/tips/{tip_id}", "patch", {"200", "401", "403", "404", "422", "429", "503"}),
    ):
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    body = paths["/v1/cases/{case_id}/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
