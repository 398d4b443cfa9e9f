"""Party profiles through the API and the workbench: resolution, outcomes, summary, scope."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest
from servetools import auth, lines_json

ID, OTHER_ID = "IMP-777", "IMP-999"
SPELLINGS = ("Acme Textiles Co., Ltd.", "ACME TEXTILE CO LTD")
NO_ID_SPELLING = "=acme textiles limited"  # same party by name, and a formula for the CSV


@pytest.fixture
def scored(api: SimpleNamespace, model_source: SimpleNamespace) -> SimpleNamespace:
    """Lines scored through the API: entries of one importer under several spellings."""
    lines = lines_json(model_source.lines)
    entries = list(dict.fromkeys(str(ln["entry_id"]) for ln in lines))
    groups = {"id": entries[:3], "no_id": entries[3:5], "other": entries[5:6]}
    for ln in lines:
        e = str(ln["entry_id"])
        ln.pop("importer_id", None)
        if e in groups["id"]:
            ln["importer_id"] = ID
            ln["importer_name"] = SPELLINGS[entries.index(e) % 2]
        elif e in groups["no_id"]:
            ln["importer_name"] = NO_ID_SPELLING
        elif e in groups["other"]:
            ln["importer_id"], ln["importer_name"] = OTHER_ID, SPELLINGS[1]
        else:
            ln["importer_id"], ln["importer_name"] = "IMP-1", "Unrelated Imports Inc"
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200, r.text
    results = {(x["entry_id"], x["line_no"]): x for x in r.json()["results"]}
    ours = [ln for ln in lines if str(ln["entry_id"]) in groups["id"] + groups["no_id"]]
    return SimpleNamespace(lines=lines, groups=groups, results=results, ours=ours)


def _feedback(api: SimpleNamespace, result: dict[str, Any], violation: int, outcome: str) -> None:
    fb = {"entry_id": result["entry_id"], "line_no": result["line_no"],
          "decision_id": result["decision_id"], "inspected": True,
          "inspection_reason": "targeted", "violation": violation, "outcome": outcome}  # fmt: skip
    r = api.client.post("/v1/feedback", json=fb, headers=auth(api.keys["officer"]))
    assert r.status_code == 201, r.text


def _get(api: SimpleNamespace, path: str, key: str = "admin") -> Any:
    return api.client.get(path, headers=auth(api.keys[key]))


def test_an_importer_by_id_gathers_its_spellings_and_outcomes(
    api: SimpleNamespace, scored: SimpleNamespace
) -> None:
    first = next(ln for ln in scored.ours if ln["entry_id"] == scored.groups["id"][0])
    no_id = next(ln for ln in scored.ours if ln["entry_id"] == scored.groups["no_id"][0])
    _feedback(api, scored.results[(first["entry_id"], first["line_no"])], 1, "detained")
    _feedback(api, scored.results[(no_id["entry_id"], no_id["line_no"])], 0, "released")
    r = _get(api, f"/v1/parties/importer/{ID}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["party"]["matched_by"] == "id" and body["party"]["ids"] == [ID]
    # Lines with the id, and lines without an id whose name normalises the same; not the
    # line of another importer id with the same name.
    assert body["totals"]["lines"] == len(scored.ours)
    assert body["totals"]["entries"] == 5
    assert {c["spelling"] for c in body["cluster"]} == {*SPELLINGS, NO_ID_SPELLING}
    assert {c["normalised"] for c in body["cluster"]} == {"ACME TEXTILE"}
    assert body["totals"]["inspected"] == 2 and body["totals"]["violations"] == 1
    assert {o["status"] for o in body["outcomes"]} == {"detained", "released"}
    assert sum(m["lines"] for m in body["months"]) == len(scored.ours)
    value = sum(float(ln.get("declared_value_usd") or 0) for ln in scored.ours)
    assert body["totals"]["value_usd"] == pytest.approx(value)
    actions = [row["action"] for row in api.client.app.state.store.audit_rows()]
    assert "party_view" in actions


def test_a_name_finds_every_id_and_spelling(api: SimpleNamespace, scored: SimpleNamespace) -> None:
    body = _get(api, "/v1/parties/importer/acme textiles ltd").json()
    assert body["party"]["matched_by"] == "name"
    assert body["party"]["ids"] == [ID, OTHER_ID]
    other = [ln for ln in scored.lines if ln.get("importer_id") == OTHER_ID]
    assert body["totals"]["lines"] == len(scored.ours) + len(other)


def test_scope_kind_period_and_unknown_party(api: SimpleNamespace, scored: SimpleNamespace) -> None:
    assert _get(api, f"/v1/parties/importer/{ID}", key="scorer").status_code == 403
    assert _get(api, f"/v1/parties/broker/{ID}").status_code == 404
    assert _get(api, "/v1/parties/importer/NOBODY-AT-ALL").status_code == 404
    assert _get(api, f"/v1/parties/importer/{ID}?from=2024-13-01").status_code == 422
    assert _get(api, f"/v1/parties/importer/{ID}?from=2024-02-01&to=2024-01-01").status_code == 422


def test_the_summary_csv_covers_the_period(api: SimpleNamespace, scored: SimpleNamespace) -> None:
    dates = sorted({str(ln["entry_date"]) for ln in scored.ours})
    lo = dates[len(dates) // 2]
    r = _get(api, f"/v1/parties/importer/{ID}/summary.csv?from={lo}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    head = {row[0]: row[1] for row in rows[:7]}
    assert head["party"] == ID and head["period_from"] == lo
    assert set(head["spellings_seen"].lstrip("'").split("; ")) == {*SPELLINGS, NO_ID_SPELLING}
    assert not any(cell.startswith("=") for row in rows for cell in row)  # defused
    header = rows[8]
    table = [dict(zip(header, row, strict=True)) for row in rows[9:]]
    entries, total = table[:-1], table[-1]
    kept = [ln for ln in scored.ours if str(ln["entry_date"]) >= lo]
    assert {e["entry_id"] for e in entries} == {str(ln["entry_id"]) for ln in kept}
    assert all(e["entry_date"] >= lo for e in entries)
    assert total["entry_id"] == "TOTAL" and int(total["lines"]) == len(kept)
    assert sum(int(e["lines"]) for e in entries) == len(kept)
    assert "party_export" in [row["action"] for row in api.client.app.state.store.audit_rows()]


def test_a_profile_lists_the_tips_naming_the_party_and_its_cases(
    api: SimpleNamespace, scored: SimpleNamespace
) -> None:
    h = auth(api.keys["admin"])
    tip = {
        "parties": [{"role": "importer", "name": SPELLINGS[1], "party_id": ID}],
        "goods": [{"hs": "6109", "description": "t-shirts"}],
        "country": "CN",
        "allegation": "Goods bought from a listed mill.",
        "source_type": "public",
        "received_date": "2024-01-02",
    }
    r = api.client.post("/v1/tips", json=tip, headers=h)
    assert r.status_code == 201, r.text
    first = scored.ours[0]
    body = {"lines": [{"entry_id": first["entry_id"], "line_no": first["line_no"]}]}
    r = api.client.post("/v1/cases", json=body, headers=h)
    assert r.status_code == 201, r.text
    profile = _get(api, f"/v1/parties/importer/{ID}").json()
    sections = {s["title"]: s for s in profile["sections"]}
    tips = sections["Tips naming this party"]["rows"]
    assert len(tips) == 1 and tips[0]["source_type"] == "public"
    cases = sections["Cases"]["rows"]
    assert len(cases) == 1 and cases[0]["status"] == "detained"
    # The worklist's status source says so for the entry the case holds.
    from serving.parties import entry_statuses

    statuses = entry_statuses(api.client.app.state.store, [first["entry_id"]])
    assert statuses[first["entry_id"]] == "case open"
