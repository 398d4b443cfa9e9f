"""``POST /v1/check``: the importer's self-check, its key, and its independence from the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from checktools import CHAIN_CSV, by_id
from fastapi.testclient import TestClient
from servetools import auth, lines_json

from serving.auth import create_key

PUBLIC = {"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json",
          "/docs/oauth2-redirect", "/check", "/check/check.css", "/signin", "/"}  # fmt: skip


def _importer(settings: Any) -> str:
    return create_key(settings.keys_path(), "importer", ["check"])


def _check(client: TestClient, key: str, body: str = CHAIN_CSV) -> Any:
    files = {"file": ("suppliers.csv", body.encode(), "text/csv")}
    return client.post("/v1/check", files=files, headers=auth(key))


def test_check_answers_findings_tiers_and_bad_rows(api: SimpleNamespace) -> None:
    r = _check(api.client, _importer(api.settings))
    assert r.status_code == 200, r.text
    body = r.json()
    found = by_id(body["suppliers"])
    assert found["CLEAN"] == []
    up = [
        f for f in found["T1"] if f["code"] == "upstream" and f["evidence"]["supplier_id"] == "T3"
    ]
    assert up[0]["evidence"]["path"] == ["T3", "T2", "T1"]
    assert [t["tier"] for t in body["tiers"]] == ["1", "2", "3"]
    assert {b["column"] for b in body["bad_rows"]} >= {"name", "country", "supplies_to"}
    assert body["bad_rows_total"] == 5 and body["reference"]["entities"]
    assert r.headers["cache-control"] == "no-store"


def test_check_takes_json_records_too(api: SimpleNamespace) -> None:
    rows = [
        {"supplier_id": "A", "name": "Luopu Meixin Hair", "address": "Hotan, Xinjiang",
         "country": "CN", "tier": 2, "supplies_to": "B"},
        {"supplier_id": "B", "name": "Acme", "address": "Kowloon", "country": "HK"},
    ]  # fmt: skip
    r = api.client.post(
        "/v1/check", json={"suppliers": rows}, headers=auth(_importer(api.settings))
    )
    assert r.status_code == 200, r.text
    found = by_id(r.json()["suppliers"])
    assert [f["code"] for f in found["A"]] == ["entity_list", "xinjiang"]
    assert [f["evidence"]["path"] for f in found["B"]] == [["A", "B"]]
    bad = api.client.post("/v1/check", json={"lines": []}, headers=auth(api.keys["admin"]))
    assert bad.status_code == 422


def test_check_refuses_what_it_cannot_read(api: SimpleNamespace) -> None:
    key = _importer(api.settings)
    r = _check(api.client, key, "supplier_id,name,country\nA,B,CN\n")
    assert r.status_code == 422 and "address" in r.json()["detail"]
    assert str(api.settings.data_dir) not in r.text
    files = {"file": ("suppliers.xlsx", b"PK..", "application/octet-stream")}
    assert api.client.post("/v1/check", files=files, headers=auth(key)).status_code == 415
    assert api.client.post("/v1/check", files=files).status_code == 401
    # Officers' keys without the scope are refused; the admin's (every scope) is not.
    assert _check(api.client, api.keys["scorer"]).status_code == 403
    assert _check(api.client, api.keys["admin"]).status_code == 200


def _routes(app: Any) -> Iterator[tuple[str, set[str]]]:
    """Every route's full path and methods (routers included as a whole keep theirs inside)."""
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                yield ctx.path, set(ctx.methods or ())
        elif getattr(route, "methods", None):
            yield route.path, set(route.methods)


def _fill(path: str) -> str:
    return path.replace("{job_id}", "0" * 32).replace("{name}", "x").replace("{wl_id}", "x")


def test_importer_key_reaches_nothing_but_the_check(api: SimpleNamespace) -> None:
    key = _importer(api.settings)
    reached, tried = [], []
    for path, methods in _routes(api.client.app):
        for method in sorted(methods):
            if method == "HEAD" or path in PUBLIC or path == "/v1/check":
                continue
            tried.append(path)
            r = api.client.request(method, _fill(path), headers=auth(key), follow_redirects=False)
            # The API refuses the scope; the workbench sends a caller without a session to
            # the sign-in page (or refuses the form), which the key cannot pass.
            if r.status_code not in (303, 403):
                reached.append((method, path, r.status_code))
    assert reached == []
    assert {"/v1/score", "/v1/score/file", "/v1/feedback", "/worklists", "/model"} <= set(tried)
    page = api.client.get("/signin")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = api.client.post("/signin", data={"api_key": key, "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert r.status_code == 403 and "/check" in r.text
    assert "flrisk_session" not in r.cookies
    assert api.client.get("/worklists", follow_redirects=False).status_code == 303


@pytest.fixture
def busy_store(make_client: Callable[..., Any], model_source: SimpleNamespace) -> TestClient:
    """An app whose store holds scored lines of the suppliers, with detentions recorded."""
    client, keys, settings = make_client()
    frame = model_source.lines.head(3).copy()
    frame["manufacturer_name"] = ["Acme Apparel Manufacturing Ltd", "Nordic Buttons AB",
                                  "Blue River Weaving Co"]  # fmt: skip
    frame["manufacturer_address"] = "Storgatan 5, Malmo"
    r = client.post("/v1/score", json={"lines": lines_json(frame)}, headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    for res in r.json()["results"]:
        fb = {"entry_id": res["entry_id"], "line_no": res["line_no"],
              "decision_id": res["decision_id"], "inspected": True,
              "inspection_reason": "targeted", "violation": 1, "outcome": "detained"}  # fmt: skip
        assert client.post("/v1/feedback", json=fb, headers=auth(keys["admin"])).status_code == 201
    client.importer = _importer(settings)  # type: ignore[attr-defined]
    return client


def test_answer_is_the_same_whatever_the_store_holds(
    api: SimpleNamespace, busy_store: TestClient, tmp_path: Path
) -> None:
    empty = _check(api.client, _importer(api.settings)).json()
    busy = _check(busy_store, busy_store.importer).json()  # type: ignore[attr-defined]
    assert busy == empty
    assert by_id(busy["suppliers"])["CLEAN"] == []
