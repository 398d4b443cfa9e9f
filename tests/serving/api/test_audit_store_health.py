"""The audit store's health is true: a removed or replaced SQLite file, or a store that takes
reads but refuses writes, is a 503 on every request that writes audit rows and a not-ready
``/readyz``, never a 200 written into a file nobody will read; the probe itself writes nothing.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from servetools import auth, lines_json
from sqlalchemy import text


def _db(api: SimpleNamespace) -> Path:
    return Path(api.settings.data_dir) / "audit.db"


def _score(api: SimpleNamespace, lines: list[dict[str, Any]]) -> Any:
    return api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))


def _feedback(api: SimpleNamespace, result: dict[str, Any]) -> Any:
    """An outcome for a decision answered before the file went."""
    keys = ("entry_id", "line_no", "decision_id")
    fb = {**{k: result[k] for k in keys}, "inspected": True, "inspection_reason": "targeted",
          "violation": 1}  # fmt: skip
    return api.client.post("/v1/feedback", json=fb, headers=auth(api.keys["officer"]))


def _assert_refused(
    api: SimpleNamespace, lines: list[dict[str, Any]], scored: dict[str, Any], why: str
) -> None:
    for batch in (lines[:1], lines):  # on the event loop, and in the thread pool
        r = _score(api, batch)
        assert r.status_code == 503, r.text
        assert r.json() == {"detail": "audit store unavailable: nothing was scored"}
    assert _feedback(api, scored).status_code == 503
    ready = api.client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["audit_store"] == "unavailable" and why in body["detail"]
    assert str(api.settings.data_dir) not in ready.text  # no server path on an open route


def test_a_removed_database_file_is_503_and_not_ready(api: SimpleNamespace, model_source) -> None:
    lines = lines_json(model_source.lines.head(20))
    r = _score(api, lines[:2])
    assert r.status_code == 200 and api.client.get("/readyz").status_code == 200
    os.unlink(_db(api))
    _assert_refused(api, lines, r.json()["results"][0], "removed")
    assert not _db(api).exists()  # no new, empty audit file made in its place


def test_a_replaced_database_file_is_503_and_not_ready(api: SimpleNamespace, model_source) -> None:
    lines = lines_json(model_source.lines.head(20))
    r = _score(api, lines[:2])
    assert r.status_code == 200
    path = _db(api)
    stale = path.with_name("stale.db")  # a copy of the store as it was: two rows
    with sqlite3.connect(path) as src, sqlite3.connect(stale) as dst:
        src.backup(dst)
    assert _score(api, lines[2:4]).status_code == 200
    os.replace(stale, path)
    _assert_refused(api, lines, r.json()["results"][0], "replaced")


def test_readyz_probes_a_write_and_leaves_no_row(api: SimpleNamespace, model_source) -> None:
    store = api.client.app.state.store
    with store.engine.begin() as conn:  # reads answer, writes are refused
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    r = api.client.get("/readyz")
    assert r.status_code == 503 and r.json()["audit_store"] == "unavailable", r.text
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse"))
    for _ in range(3):
        r = api.client.get("/readyz")
        assert r.status_code == 200 and r.json()["audit_store"] == "ok", r.text
    assert store.audit_rows() == []
    assert _score(api, lines_json(model_source.lines.head(2))).status_code == 200
    assert [r["id"] for r in store.audit_rows()] == [1, 2]
    assert store.verify().ok
