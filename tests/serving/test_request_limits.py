"""Request limits on their own: the per-key token bucket and the body-size middleware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.testclient import TestClient

from serving import limits
from serving.limits import BodySizeLimitMiddleware, BodyTooLargeError, RateLimiter


def _run_async(coro):  # type: ignore[no-untyped-def]
    """``asyncio.run`` in a thread of its own.

    The browser tests' sync Playwright keeps an event loop running in the main thread for
    the session, where ``asyncio.run`` would refuse to start another.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(limits.time, "monotonic", c)
    return c


def test_the_bucket_allows_the_burst_then_refills_at_the_rate(clock: Clock) -> None:
    rl = RateLimiter(per_minute=60, burst=3)  # one token a second
    assert [rl.check("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rl.check("k") == pytest.approx(1.0)  # empty: the next token is 1 s away
    clock.now += 0.5
    assert rl.check("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert rl.check("k") == 0.0
    clock.now += 3600  # a long pause refills to the burst, never past it
    assert [rl.check("k") for _ in range(4)][-1] == pytest.approx(1.0)


def test_a_request_costing_exactly_the_tokens_left_is_allowed(clock: Clock) -> None:
    rl = RateLimiter(per_minute=60, burst=2)
    assert rl.check("k", cost=2.0) == 0.0
    assert rl.check("k", cost=2.0) == pytest.approx(2.0)


def test_each_key_has_its_own_bucket(clock: Clock) -> None:
    rl = RateLimiter(per_minute=60, burst=1)
    assert rl.check("a") == 0.0
    assert rl.check("a") > 0
    assert rl.check("b") == 0.0


def test_enforce_is_429_with_whole_seconds_to_wait(clock: Clock) -> None:
    rl = RateLimiter(per_minute=60, burst=1)
    rl.enforce("k")
    clock.now += 0.75  # 0.25 s left: Retry-After rounds up to 1 s, never 0
    with pytest.raises(HTTPException) as exc:
        rl.enforce("k")
    assert exc.value.status_code == 429
    assert exc.value.headers == {"Retry-After": "1"}
    assert exc.value.detail == "rate limit exceeded; retry in 1 s"
    rl2 = RateLimiter(per_minute=6, burst=1)  # a token every 10 s
    rl2.enforce("k")
    clock.now += 0.5
    with pytest.raises(HTTPException) as exc:
        rl2.enforce("k")
    assert exc.value.headers == {"Retry-After": "10"}


def _run(
    mw: BodySizeLimitMiddleware, path: str, chunks: list[bytes], length: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Send a request through the middleware; the messages sent back and bytes the app read."""
    headers = [] if length is None else [(b"content-length", length.encode())]
    scope = {"type": "http", "path": path, "headers": headers}
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await mw(scope, receive, send)

    _run_async(run())
    return sent, len(incoming)


def _echo_app(read: list[int]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http" and scope["path"].startswith("/")
        total, more = 0, True
        while more:
            message = await receive()
            total += len(message.get("body", b""))
            more = message.get("more_body", False)
        read.append(total)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _status(sent: list[dict[str, Any]]) -> int:
    return int(sent[0]["status"])


def test_a_body_at_the_limit_passes_and_one_byte_more_is_413() -> None:
    read: list[int] = []
    mw = BodySizeLimitMiddleware(_echo_app(read), json_limit=10, upload_limit=100)
    sent, _ = _run(mw, "/v1/score", [b"12345", b"67890"])
    assert _status(sent) == 200 and read == [10]
    sent, _ = _run(mw, "/v1/score", [b"12345", b"678901"])
    assert _status(sent) == 413
    body = json.loads(sent[1]["body"])
    assert body == {"detail": "request body larger than 10 bytes"}
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    headers = dict(sent[0]["headers"])
    assert headers[b"content-length"] == str(len(sent[1]["body"])).encode()
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"  # the rest of the body is not read


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    read: list[int] = []
    mw = BodySizeLimitMiddleware(_echo_app(read), json_limit=10, upload_limit=100)
    sent, unread = _run(mw, "/v1/score", [b"x" * 11], length="11")
    assert _status(sent) == 413 and read == [] and unread == 1
    sent, _ = _run(mw, "/v1/score", [b"x" * 10], length="10")
    assert _status(sent) == 200
    # A length that is not a number is left to the streaming count.
    sent, _ = _run(mw, "/v1/score", [b"x" * 5], length="five")
    assert _status(sent) == 200


def test_uploads_have_their_own_larger_limit() -> None:
    read: list[int] = []
    mw = BodySizeLimitMiddleware(_echo_app(read), json_limit=10, upload_limit=100)
    for path in ("/v1/score/file", "/worklists/upload"):
        sent, _ = _run(mw, path, [b"x" * 100], length="100")
        assert _status(sent) == 200, path
        sent, _ = _run(mw, path, [b"x" * 101], length="101")
        assert _status(sent) == 413, path
        assert json.loads(sent[1]["body"])["detail"] == "request body larger than 100 bytes"


def test_a_body_too_large_after_the_response_started_is_not_answered_twice() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await receive()

    mw = BodySizeLimitMiddleware(app, json_limit=1, upload_limit=1)
    with pytest.raises(BodyTooLargeError):
        _run(mw, "/v1/score", [b"xx"])


def test_other_scopes_pass_through_untouched() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        seen.append(await receive())
        await send("started")

    async def receive() -> str:
        return "startup"

    async def send(message: Any) -> None:
        seen.append(message)

    mw = BodySizeLimitMiddleware(app, json_limit=1, upload_limit=1)
    _run_async(mw({"type": "lifespan"}, receive, send))
    assert seen == ["lifespan", "startup", "started"]


def test_a_form_too_large_is_413_naming_the_limit_not_a_400() -> None:
    # FastAPI turns other exceptions raised while parsing a form into a 400: the error
    # raised while streaming must reach the client as the 413 it is.
    app = FastAPI()

    @app.post("/worklists/upload")
    async def upload(file: Annotated[UploadFile, File()]) -> dict[str, int]:
        return {"size": len(await file.read())}

    app.add_middleware(BodySizeLimitMiddleware, json_limit=10, upload_limit=300)
    client = TestClient(app)

    def chunks(n: int) -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\n"
        yield b"x" * n
        yield b"\r\n--b--\r\n"

    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    ok = client.post("/worklists/upload", content=chunks(100), headers=headers)
    assert ok.status_code == 200 and ok.json() == {"size": 100}
    r = client.post("/worklists/upload", content=chunks(1000), headers=headers)
    assert r.status_code == 413
    assert r.json() == {"detail": "request body larger than 300 bytes"}
    err = BodyTooLargeError(5)
    assert (err.status_code, err.detail) == (413, "request body larger than 5 bytes")
