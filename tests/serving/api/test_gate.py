"""The key is checked before the body is read; failed keys are throttled per address and
audited in summary (issue 16, rows 6 and 12).

The app is called as ASGI directly, so a test chooses the client address and sees whether
the app ever asked for the body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from servetools import auth, lines_json

from serving.api.body import INLINE_BODY_BYTES


def _run(coro):  # type: ignore[no-untyped-def]
    """``asyncio.run`` in a thread of its own.

    The browser tests' sync Playwright keeps an event loop running in the main thread for
    the session, where ``asyncio.run`` would refuse to start another.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def call(
    app: Any, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"",
    client: str = "203.0.113.7", method: str = "POST",
) -> SimpleNamespace:  # fmt: skip
    """One request through the app; ``reads`` counts the body messages the app asked for."""
    sent: list[dict[str, Any]] = []
    reads = 0
    hdrs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    hdrs += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": hdrs, "client": (client, 50000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers_out = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return SimpleNamespace(status=start["status"], headers=headers_out, body=data, reads=reads)


@pytest.fixture
def gated(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    client, keys, _settings = make_client(auth_failure_burst=5, auth_failures_per_minute=6)
    return SimpleNamespace(app=client.app, client=client, keys=keys, lines=model_source.lines)


def test_a_keyless_large_body_is_refused_without_being_read(gated: SimpleNamespace) -> None:
    big = json.dumps({"lines": [{"entry_id": "E", "line_no": 1}] * 200_000}).encode()
    attempts = [
        (headers, path)
        for headers in ({}, auth("flr_not_a_key"), {"X-API-Key": "flr_not_a_key"})
        for path in ("/v1/score", "/v1/feedback", "/v1/score/file")
    ]
    for i, (headers, path) in enumerate(attempts):  # one address each: none is throttled
        r = call(gated.app, path, headers=headers, body=big, client=f"198.51.100.{i}")
        assert r.status == 401, (path, r.body)
        assert r.headers["www-authenticate"] == "Bearer"
        assert json.loads(r.body) == {"detail": "missing or unknown API key"}
        assert r.reads == 0, f"{path}: the app read the body of a request without a key"
        assert r.headers["connection"] == "close"  # nor drained by the server: closed
    # The same request with a valid key is read (the count above is not vacuous), and scored.
    small = json.dumps({"lines": lines_json(gated.lines.head(2))}).encode()
    r = call(gated.app, "/v1/score", headers=auth(gated.keys["scorer"]), body=small)
    assert r.status == 200 and r.reads == 1, r.body


def test_a_large_body_is_parsed_off_the_event_loop_with_the_errors_fastapi_gives(
    gated: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serving.api.lines_body as body_module

    hops: list[str] = []

    async def recording(func: Any, *args: Any) -> Any:
        hops.append(func.__name__)
        return func(*args)

    monkeypatch.setattr(body_module, "run_in_threadpool", recording)
    lines = lines_json(gated.lines.head(1))
    padded = json.dumps({"lines": lines, "reasons": 1}).encode()
    padded += b" " * (INLINE_BODY_BYTES + 1)  # same request, large
    key = auth(gated.keys["scorer"])
    assert call(gated.app, "/v1/score", headers=key, body=padded).status == 200
    assert hops == ["read_score_lines"]
    hops.clear()
    small = json.dumps({"lines": lines}).encode()
    assert call(gated.app, "/v1/score", headers=key, body=small).status == 200
    assert hops == []  # a small body stays on the loop (the thread hop would cost more)
    c = gated.client
    bad = c.post(
        "/v1/score", content=b"{not json", headers={**key, "Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][0] == "body"
    undecodable = c.post(
        "/v1/score", content=b"{\xb9}", headers={**key, "Content-Type": "application/json"}
    )
    assert undecodable.status_code == 400  # as FastAPI answers it, never a 500
    none = c.post("/v1/score", headers=key)
    assert none.status_code == 422 and none.json()["detail"][0]["loc"] == ["body"]
    extra = c.post("/v1/score", json={"lines": lines, "nope": 1}, headers=key)
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "nope"]
    spec = c.get("/openapi.json").json()
    body = spec["paths"]["/v1/score"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScoreRequest"
    }
    assert {"ScoreRequest", "EntryLineIn"} <= set(spec["components"]["schemas"])


def test_wrong_keys_are_throttled_per_address(gated: SimpleNamespace) -> None:
    statuses = [
        call(gated.app, "/v1/model", headers=auth(f"flr_guess_{i}"), client="192.0.2.10").status
        for i in range(12)
    ]
    assert statuses[:5] == [401] * 5  # the burst
    assert statuses[5:] == [429] * 7
    r = call(gated.app, "/v1/model", headers=auth(gated.keys["scorer"]), client="192.0.2.10")
    assert r.status == 429 and int(r.headers["retry-after"]) >= 1  # even a right key, for now
    # Other addresses are not affected.
    r = call(gated.app, "/v1/model", headers=auth(gated.keys["scorer"]), client="192.0.2.11",
             method="GET")  # fmt: skip
    assert r.status == 200
    r = call(gated.app, "/v1/model", headers=auth("flr_x"), client="192.0.2.11", method="GET")
    assert r.status == 401 and "connection" not in r.headers  # no body: the connection stays


def test_a_thousand_wrong_keys_write_one_audit_row_that_counts_them(
    gated: SimpleNamespace,
) -> None:
    for i in range(1000):
        call(gated.app, "/v1/score", headers=auth(f"flr_guess_{i}"), client="192.0.2.20")
    store = gated.app.state.store
    rows = [r for r in store.audit_rows() if r["action"] == "api_key_failed"]
    assert len(rows) == 1 and rows[0]["key_id"] == "-"
    # The rest are counted, and written when the interval passes (here: at shutdown).
    gated.client.__exit__(None, None, None)
    rows = [r for r in store.audit_rows() if r["action"] == "api_key_failed"]
    counts = [json.loads(r["input_json"]) for r in rows]
    assert len(rows) == 2 and sum(c["failures"] for c in counts) == 1000
    assert {c["address"] for c in counts} == {"192.0.2.20"}
