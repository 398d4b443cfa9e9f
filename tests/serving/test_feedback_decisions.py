"""Feedback tied to the decision it judges, through the API and the workbench.

Each outcome names the scored decision (``decision_id``, in every score response); an
officer's outcome (workbench) outranks a system's (API key); officers who disagree put the
line under review, and training leaves it out; an outcome contradicting ``violation`` is a
422.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from servetools import auth, lines_json

from models.feedback import load_feedback_lines
from serving.auth import create_key

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(client: TestClient, key: str) -> str:
    page = client.get("/signin")
    token = CSRF.search(page.text)
    assert token
    r = client.post("/signin", data={"api_key": key, "csrf_token": token.group(1)})
    assert r.status_code == 200, r.text
    found = CSRF.search(r.text)
    assert found
    return found.group(1)


def _upload_day(client: TestClient, csrf: str, frame: pd.DataFrame) -> Any:
    body = pd.DataFrame(lines_json(frame)).to_csv(index=False).encode()
    r = client.post("/worklists/upload", data={"csrf_token": csrf},
                    files={"file": ("day.csv", body, "text/csv")})  # fmt: skip
    assert r.status_code == 200, r.text
    return client.app.state.workbench.worklists.get(str(r.url).rstrip("/").rsplit("/", 1)[-1])


def _record(client: TestClient, csrf: str, wl: Any, entry_id: str, line_no: int, outcome: str):
    return client.post(
        f"/worklists/{wl.id}/outcome",
        data={"csrf_token": csrf, "entry_id": entry_id, "line_no": str(line_no),
              "outcome": outcome, "inspection_reason": "targeted"},
    )  # fmt: skip


def _score(api: SimpleNamespace, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def _label(settings: Any, columns: list[str], entry_id: str, line_no: int) -> pd.Series:
    got = load_feedback_lines(settings, columns).frame
    return got.set_index(["entry_id", "line_no"]).loc[(entry_id, line_no)]


@pytest.fixture
def wb(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    client, keys, settings = make_client()
    return SimpleNamespace(client=client, keys=keys, settings=settings, lines=model_source.lines)


def test_score_responses_name_the_audited_decision(api: SimpleNamespace, model_source) -> None:
    results = _score(api, lines_json(model_source.lines.head(3)))
    rows = [r for r in api.client.app.state.store.audit_rows() if r["action"] == "score"]
    assert [x["decision_id"] for x in results] == [r["input_hash"] for r in rows]
    assert all(re.fullmatch(r"[0-9a-f]{64}", x["decision_id"]) for x in results)


def test_api_key_feedback_does_not_override_an_officers_label(wb: SimpleNamespace) -> None:
    c = wb.client
    csrf = _sign_in(c, wb.keys["admin"])
    wl = _upload_day(c, csrf, wb.lines)
    entry_id, line_no = str(wl.entries["entry_id"].iloc[0]), int(wl.entries["top_line_no"].iloc[0])
    r = _record(c, csrf, wl, entry_id, line_no, "detained")
    assert r.status_code == 200 and "Outcome recorded" in r.text
    # The entry page shows the line's decision id; a system sends feedback naming it.
    page = c.get(f"/worklists/{wl.id}/entries/{entry_id}").text
    scored = [r for r in c.app.state.store.audit_rows() if r["action"] == "workbench_score"]
    decision = next(r["input_hash"] for r in scored
                    if r["entry_id"] == entry_id and r["line_no"] == line_no)  # fmt: skip
    assert decision[:16] in page
    fb = {"entry_id": entry_id, "line_no": line_no, "decision_id": decision, "inspected": True,
          "inspection_reason": "targeted", "violation": 0, "outcome": "released"}  # fmt: skip
    r = c.post("/v1/feedback", json=fb, headers=auth(wb.keys["officer"]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["line_status"] == "labelled" and body["label_feedback_id"] != body["feedback_id"]
    # Training learns the officer's word, not the later system's.
    row = _label(wb.settings, [*wb.lines.columns], entry_id, line_no)
    assert row["violation"] == 1.0
    # The system's record is kept (and audited), not in force.
    outcomes = c.app.state.store.feedback_for(entry_id)
    assert [o["source"] for o in outcomes] == ["workbench", "api"]
    assert outcomes[0]["in_force"] == outcomes[0]["id"] == outcomes[1]["in_force"]


def test_officers_who_disagree_put_the_line_under_review(
    wb: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.train import read_training_lines

    c = wb.client
    second = create_key(wb.settings.keys_path(), "officer-2", ["score", "feedback"])
    csrf = _sign_in(c, wb.keys["admin"])
    wl = _upload_day(c, csrf, wb.lines)
    entry_id, line_no = str(wl.entries["entry_id"].iloc[0]), int(wl.entries["top_line_no"].iloc[0])
    assert _record(c, csrf, wl, entry_id, line_no, "detained").status_code == 200
    c.cookies.clear()
    csrf2 = _sign_in(c, second)  # another officer, on the same day's file
    wl2 = _upload_day(c, csrf2, wb.lines)
    r = _record(c, csrf2, wl2, entry_id, line_no, "released")
    assert r.status_code == 200 and "under review" in r.text
    store = c.app.state.store
    assert {o["line_status"] for o in store.feedback_for(entry_id)} == {"review"}
    got = load_feedback_lines(wb.settings, [*wb.lines.columns])
    assert got.under_review == {(entry_id, line_no)}
    judged = set(zip(got.frame["entry_id"], got.frame["line_no"], strict=True))
    assert (entry_id, line_no) not in judged
    # Training on a file holding that line leaves it out and says how many.
    train = pd.DataFrame(lines_json(wb.lines)).assign(
        inspected="true", inspection_reason="random", violation="0"
    )
    train.to_csv(tmp_path / "train.csv", index=False)
    frame, _ = read_training_lines(wb.settings, [tmp_path / "train.csv"], None, False, True)
    assert len(frame) == len(train) - 1
    assert not ((frame["entry_id"] == entry_id) & (frame["line_no"] == line_no)).any()
    out = capsys.readouterr().out
    assert "1 training line(s) under review (conflicting outcomes) left out" in out
    # When the officers agree again, the line is labelled.
    r = _record(c, csrf2, wl2, entry_id, line_no, "detained")
    assert r.status_code == 200
    assert {o["line_status"] for o in store.feedback_for(entry_id)} == {"labelled"}
    assert _label(wb.settings, [*wb.lines.columns], entry_id, line_no)["violation"] == 1.0


def test_outcome_contradicting_violation_is_refused(api: SimpleNamespace, model_source) -> None:
    (res,) = _score(api, lines_json(model_source.lines.head(1)))
    base = {"entry_id": res["entry_id"], "line_no": res["line_no"],
            "decision_id": res["decision_id"], "inspected": True}  # fmt: skip
    h = auth(api.keys["officer"])
    for bad, fields in (
        ({"outcome": "detained", "violation": 0}, ("outcome", "violation")),
        ({"outcome": "released", "violation": 1}, ("outcome", "violation")),
        ({"outcome": "seized", "violation": 0}, ("outcome", "violation")),
        ({"outcome": "maybe"}, ("outcome",)),
    ):
        r = api.client.post("/v1/feedback", json={**base, **bad}, headers=h)
        assert r.status_code == 422, (bad, r.text)
        assert all(f in r.text for f in fields), r.text
    r = api.client.post("/v1/feedback", json={**base, "inspected": False, "outcome": "released"},
                        headers=h)  # fmt: skip
    assert r.status_code == 422 and "not inspected" in r.text
    assert not api.client.app.state.store.feedback_for(res["entry_id"])
    # An outcome alone gives its violation.
    r = api.client.post("/v1/feedback", json={**base, "outcome": "excluded"}, headers=h)
    assert r.status_code == 201, r.text
    assert api.client.app.state.store.feedback_for(res["entry_id"])[0]["violation"] == 1


def test_feedback_must_name_a_scored_decision_of_that_line(
    api: SimpleNamespace, model_source
) -> None:
    first, second = _score(api, lines_json(model_source.lines.head(2)))
    h = auth(api.keys["officer"])
    fb = {"entry_id": first["entry_id"], "line_no": first["line_no"], "inspected": True,
          "violation": 1}  # fmt: skip
    assert api.client.post("/v1/feedback", json=fb, headers=h).status_code == 422  # no decision
    for decision in ("0" * 64, second["decision_id"]):  # unknown, another line's
        r = api.client.post("/v1/feedback", json={**fb, "decision_id": decision}, headers=h)
        assert r.status_code == 422 and "decision_id" in r.text, r.text
    r = api.client.post("/v1/feedback", json={**fb, "decision_id": first["decision_id"]},
                        headers=h)  # fmt: skip
    assert r.status_code == 201, r.text


def test_rescored_changed_content_does_not_inherit_the_label(
    api: SimpleNamespace, model_source
) -> None:
    (line,) = lines_json(model_source.lines.head(1))
    (first,) = _score(api, [line])
    fb = {"entry_id": line["entry_id"], "line_no": line["line_no"],
          "decision_id": first["decision_id"], "inspected": True,
          "inspection_reason": "targeted", "outcome": "detained"}  # fmt: skip
    r = api.client.post("/v1/feedback", json=fb, headers=auth(api.keys["officer"]))
    assert r.status_code == 201, r.text
    changed = {**line, "goods_description": "ALUMINIUM WHEELS", "country_of_origin": "DE"}
    (again,) = _score(api, [changed])
    assert again["decision_id"] != first["decision_id"]
    row = _label(api.settings, [*model_source.lines.columns], line["entry_id"], line["line_no"])
    assert row["violation"] == 1.0
    assert row["country_of_origin"] == line["country_of_origin"]
    assert row["goods_description"] == line.get("goods_description")
