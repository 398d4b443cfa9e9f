"""POST /v1/score: exact scores, validation, audit, auth, limits."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from servetools import auth, lines_json
from sqlalchemy import text

from models.contract.batch import Lines
from models.scoring.lookup import fetch_bundle, resolve
from models.scoring.scorer import Scorer


@pytest.mark.parametrize("n", [1, 16, 17, 64, 65, 120])
def test_scores_equal_scorer_to_the_last_digit(
    api: SimpleNamespace, registry, model_source, n: int
) -> None:
    """Sizes on both sides of each switch: scored on the event loop up to 16 lines (else in
    the thread pool), with the small-batch kernels up to 64 (else the vectorised ones)."""
    from serving.api.schemas import ScoreResponse

    lines = model_source.lines.head(n).reset_index(drop=True)
    r = api.client.post(
        "/v1/score",
        json={"lines": lines_json(lines), "reasons": 3},
        headers=auth(api.keys["scorer"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # The answer is not re-validated on its way out: check it against its schema here.
    ScoreResponse.model_validate(body, strict=True)
    resolved = resolve(f"models:/{registry.settings.model_name}@champion", registry.settings)
    expected = (
        Scorer(fetch_bundle(resolved, registry.settings), version=resolved.uri)
        .score(Lines.from_frame(lines), reasons=3)
        .to_frame()
    )
    got = body["results"]
    assert [x["entry_id"] for x in got] == expected["entry_id"].tolist()
    assert [x["line_no"] for x in got] == expected["line_no"].tolist()
    # Exact equality: the API and the batch scorer share one code path and JSON floats
    # round-trip (repr), so not even the last digit may differ.
    assert [x["risk_score"] for x in got] == expected["risk_score"].tolist()
    assert [x["risk_band"] for x in got] == expected["risk_band"].tolist()
    assert [x["reasons"] for x in got] == expected["reasons"].tolist()
    assert body["model"]["version"] == registry.version
    assert body["model"]["name"] == registry.settings.model_name
    assert body["model"]["alias"] == "champion"
    assert len(body["model"]["bundle_hash"]) == 64
    assert body["model"]["reference_versions"]
    assert r.headers["X-Request-ID"] == body["request_id"]


@pytest.mark.parametrize("n", [3, 100])
def test_json_lines_are_scored_without_ever_building_a_frame(
    api: SimpleNamespace, model_source, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    """Lines go from the request through scoring and the audit as the core's batch; a frame
    would be a second form of the same lines (and cost as much as validating a few)."""

    def no_frame(*_: object) -> None:
        raise AssertionError("a frame of the request's lines was built")

    monkeypatch.setattr(Lines, "to_frame", no_frame)
    monkeypatch.setattr(Lines, "from_frame", no_frame)
    lines = lines_json(model_source.lines.head(n))
    r = api.client.post(
        "/v1/score", json={"lines": lines, "reasons": 3}, headers=auth(api.keys["scorer"])
    )
    assert r.status_code == 200, r.text
    assert len(api.client.app.state.store.audit_rows(r.json()["request_id"])) == n


def test_a_write_that_would_wait_leaves_the_event_loop_free(
    api: SimpleNamespace, model_source
) -> None:
    """A few lines are scored on the event loop; if their audit write would wait for another
    writer (here a thread holding the SQLite writer lock), it waits in the thread pool, and
    the server goes on answering meanwhile."""
    import threading

    store = api.client.app.state.store
    lines = lines_json(model_source.lines.head(1))
    answers: list[Any] = []
    health: list[int] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
        )
    )
    probe = threading.Thread(target=lambda: health.append(api.client.get("/healthz").status_code))
    with store._sqlite_writer:  # another writer, e.g. a file job's chunk
        sender.start()
        sender.join(timeout=2.0)
        waiting = sender.is_alive()  # the answer waits for its audit write ...
        probe.start()
        probe.join(timeout=10.0)
        answered_meanwhile = health == [200]  # ... not the event loop
        nothing_yet = store.audit_rows() == []
    sender.join(timeout=30)
    probe.join(timeout=30)
    assert waiting and answered_meanwhile and nothing_yet
    (r,) = answers
    assert r.status_code == 200, r.text
    assert len(store.audit_rows(r.json()["request_id"])) == 1


def test_unknown_fields_and_reasons_count(api: SimpleNamespace) -> None:
    line = {"entry_id": "E-1", "line_no": 1, "entry_date": "2024-03-14",
            "hts_code": "6109.10.0012", "country_of_origin": "CN"}  # fmt: skip
    r = api.client.post(
        "/v1/score", json={"lines": [line], "reasons": 2}, headers=auth(api.keys["scorer"])
    )
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert "manufacturer_name" in res["unknown_fields"]
    assert "entry_date" not in res["unknown_fields"]
    assert len(res["reasons"]) == 2
    assert 0.0 <= res["risk_score"] <= 1.0
    assert res["risk_band"] in {"high", "elevated", "low"}
    r0 = api.client.post(
        "/v1/score", json={"lines": [line], "reasons": 0}, headers=auth(api.keys["scorer"])
    )
    assert r0.json()["results"][0]["reasons"] == []


def _line(i: int = 1, **kw: object) -> dict[str, object]:
    base = {"entry_id": f"E-{i}", "line_no": 1, "entry_date": "2024-03-14",
            "hts_code": "6109100012", "country_of_origin": "VN"}  # fmt: skip
    return {**base, **kw}


@pytest.mark.parametrize(
    ("lines", "loc", "word"),
    [
        ([_line(0), _line(1, hts_code="61X")], ["body", "lines", 1, "hts_code"], "HTS"),
        ([_line(0, entry_date="14/03/2024")], ["body", "lines", 0, "entry_date"], "date"),
        ([_line(0, country_of_origin="QQ")], ["body", "lines", 0, "country_of_origin"], "3166"),
        ([_line(0, colour="red")], ["body", "lines", 0, "colour"], "unknown field"),
        ([_line(0, violation=1)], ["body", "lines", 0, "violation"], "unknown field"),
        ([{"entry_id": "E", "line_no": 1}], ["body", "lines", 0, "entry_date"], "required"),
        ([_line(0, quantity=-1)], ["body", "lines", 0, "quantity"], "greater"),
        ([_line(0), _line(0)], ["body", "lines", 1, "line_no"], "duplicate"),
    ],
)
def test_bad_line_is_422_naming_index_and_field(
    api: SimpleNamespace, lines: list[dict[str, object]], loc: list[object], word: str
) -> None:
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert any(e["loc"] == loc and word.lower() in e["msg"].lower() for e in errors), errors
    assert api.client.app.state.store.audit_rows() == []  # nothing scored, nothing audited


def test_lines_per_request_and_reasons_bounds(api: SimpleNamespace) -> None:
    h = auth(api.keys["scorer"])
    assert api.client.post("/v1/score", json={"lines": []}, headers=h).status_code == 422
    many = [_line(i) for i in range(1001)]
    r = api.client.post("/v1/score", json={"lines": many}, headers=h)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "lines"]
    assert (
        api.client.post(
            "/v1/score", json={"lines": [_line()], "reasons": 11}, headers=h
        ).status_code
        == 422
    )
    assert (
        api.client.post("/v1/score", json={"lines": [_line()], "extra": 1}, headers=h).status_code
        == 422
    )


def test_audit_one_row_per_line_with_request_id(api: SimpleNamespace, model_source) -> None:
    lines = lines_json(model_source.lines.head(25))
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200
    body = r.json()
    rows = api.client.app.state.store.audit_rows()
    assert len(rows) == 25
    assert {row["request_id"] for row in rows} == {body["request_id"]}
    assert {row["action"] for row in rows} == {"score"}
    assert {row["key_id"] for row in rows} == {"scorer"}
    assert [(row["entry_id"], row["line_no"]) for row in rows] == [
        (x["entry_id"], x["line_no"]) for x in body["results"]
    ]
    assert [row["risk_score"] for row in rows] == [x["risk_score"] for x in body["results"]]
    assert all(row["bundle_hash"] == body["model"]["bundle_hash"] for row in rows)
    assert all(row["input_json"] and len(row["input_hash"]) == 64 for row in rows)
    assert all(row["model_version"].endswith("/" + body["model"]["version"]) for row in rows)


def test_audit_store_down_is_503_and_returns_nothing(api: SimpleNamespace) -> None:
    store = api.client.app.state.store
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE audit"))
    store._ready = True  # the app believes the store is fine: the write itself must fail
    r = api.client.post("/v1/score", json={"lines": [_line()]}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 503
    body = r.json()
    assert body == {"detail": "audit store unavailable: nothing was scored"}
    assert "results" not in r.text and "risk_score" not in r.text


def test_auth_401_403_and_both_header_forms(api: SimpleNamespace) -> None:
    c = api.client
    body = {"lines": [_line()]}
    r = c.post("/v1/score", json=body)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert c.post("/v1/score", json=body, headers=auth("flr_wrong")).status_code == 401
    assert c.post("/v1/score", json=body, headers={"X-API-Key": "nope"}).status_code == 401
    assert c.post("/v1/score", json=body, headers=auth(api.keys["officer"])).status_code == 403
    assert (
        c.post("/v1/score", json=body, headers={"X-API-Key": api.keys["scorer"]}).status_code == 200
    )
    assert c.post("/v1/score", json=body, headers=auth(api.keys["admin"])).status_code == 200
    # Auth is checked before the body: a bad body from a stranger is still 401.
    assert c.post("/v1/score", json={"lines": []}).status_code == 401


def test_body_too_large_is_413(make_client) -> None:
    client, keys, _ = make_client(max_json_bytes=4096)
    big = {"lines": [_line(i, goods_description="X" * 1000) for i in range(10)]}
    r = client.post("/v1/score", json=big, headers=auth(keys["scorer"]))
    assert r.status_code == 413
    assert r.headers["X-Frame-Options"] == "DENY"

    # Without Content-Length (chunked), the limit is enforced while streaming.
    def chunks():
        yield b'{"lines": ['
        for _ in range(10):
            yield b'{"entry_id": "' + b"x" * 1000 + b'"},'
        yield b"]}"

    r = client.post(
        "/v1/score",
        content=chunks(),
        headers={**auth(keys["scorer"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_rate_limit_429_with_retry_after(make_client) -> None:
    client, keys, _ = make_client(rate_limit_burst=3, rate_limit_per_minute=6)
    h = auth(keys["scorer"])
    codes = [
        client.post("/v1/score", json={"lines": [_line()]}, headers=h).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    r = client.post("/v1/score", json={"lines": [_line()]}, headers=h)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    # Buckets are per key: another key is unaffected.
    assert (
        client.post("/v1/score", json={"lines": [_line()]}, headers=auth(keys["admin"])).status_code
        == 200
    )


def test_a_body_that_is_not_json_is_a_422_as_documented(api: SimpleNamespace) -> None:
    r = api.client.post(
        "/v1/score",
        content=b"{not json",
        headers={**auth(api.keys["scorer"]), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert [p["type"] for p in r.json()["detail"]] == ["json_invalid"]
