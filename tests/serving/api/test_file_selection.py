"""Selections in scored files (`select`, `explore`): marked entries, random-check feedback."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
from servetools import auth, lines_json

from models.selection import seed_of


def _csv(frame: pd.DataFrame) -> bytes:
    return pd.DataFrame(lines_json(frame)).to_csv(index=False).encode()


def _feedback(client: Any, key: str, entry: dict[str, Any], reason: str) -> dict[str, Any]:
    line = entry["lines"][0]
    fb = {"entry_id": entry["entry_id"], "line_no": line["line_no"],
          "decision_id": line["decision_id"], "inspected": True,
          "inspection_reason": reason, "outcome": "released"}  # fmt: skip
    r = client.post("/v1/feedback", json=fb, headers=auth(key))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_file_selection_marks_random_checks_and_their_feedback_is_random(
    api: SimpleNamespace, model_source: SimpleNamespace
) -> None:
    c = api.client
    data = _csv(model_source.lines.head(120))
    r = c.post("/v1/score/file", files={"file": ("day.csv", data, "text/csv")},
               data={"select": "20", "explore": "0.1", "reasons": "0"},
               headers=auth(api.keys["batcher"]))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    sel = body["selection"]
    assert sel["capacity"] == 20 and sel["random_checks"] == 2
    assert sel["seed"] == seed_of(body["request_id"]) and sel["explore"] == 0.1
    kinds = [e["selection"] for e in body["entries"]]
    assert kinds[:18] == ["risk"] * 18 and kinds.count("random_check") == 2
    assert kinds.count(None) == len(kinds) - 20
    drawn = [e for e in body["entries"] if e["selection"] == "random_check"]
    # The sender says "targeted"; the server knows the line was drawn at random.
    stored = _feedback(c, api.keys["officer"], drawn[0], "targeted")
    assert stored["inspection_reason"] == "random"
    (fb,) = c.app.state.store.feedback_for(drawn[0]["entry_id"])
    assert fb["inspection_reason"] == "random"
    # A line selected for its risk keeps the reason it was sent with.
    assert (
        _feedback(c, api.keys["officer"], body["entries"][0], "targeted")["inspection_reason"]
        == "targeted"
    )
    assert any(row["action"] == "file_selection" for row in c.app.state.store.audit_rows())


def test_zero_explore_and_no_select(api: SimpleNamespace, model_source: SimpleNamespace) -> None:
    c, h = api.client, auth(api.keys["batcher"])
    data = _csv(model_source.lines.head(60))
    r = c.post("/v1/score/file", files={"file": ("d.csv", data)},
               data={"select": "10", "explore": "0"}, headers=h)  # fmt: skip
    kinds = [e["selection"] for e in r.json()["entries"]]
    assert kinds.count("risk") == 10 and "random_check" not in kinds
    r = c.post("/v1/score/file", files={"file": ("d.csv", data)}, headers=h)
    assert r.json()["selection"] is None and {e["selection"] for e in r.json()["entries"]} == {None}
    r = c.post("/v1/score/file", files={"file": ("d.csv", data)},
               data={"select": "10", "explore": "2"}, headers=h)  # fmt: skip
    assert r.status_code == 422 and "explore" in r.text


def test_a_job_keeps_its_selection(make_client: Any, model_source: SimpleNamespace) -> None:
    from test_files_and_jobs import _wait

    client, keys, _settings = make_client(sync_file_lines=10)
    h = auth(keys["batcher"])
    data = _csv(model_source.lines.head(120))
    r = client.post("/v1/score/file", files={"file": ("big.csv", data)},
                    data={"select": "20", "explore": "0.1", "stratify": "sector"},
                    headers=h)  # fmt: skip
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    body = _wait(client, f"/v1/jobs/{job_id}", h)
    assert body["status"] == "done", body
    result = body["result"]
    assert result["selection"]["seed"] == seed_of(job_id)
    assert result["selection"]["stratify"] == "sector"
    drawn = [e for e in result["entries"] if e["selection"] == "random_check"]
    assert len(drawn) == 2
    assert _feedback(client, keys["officer"], drawn[0], "tip")["inspection_reason"] == "random"
