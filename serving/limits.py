"""Request limits: body size (413), per-key rate (429 with Retry-After).

The number of lines per request (1..1000, else 422) is enforced by the request schema.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_LINES = 1000
# The workbench's upload and the supplier self-check's (API and page) too.
UPLOAD_PATHS = ("/v1/score/file", "/worklists/upload", "/v1/check", "/check")


class BodyTooLargeError(HTTPException):
    """Raised while reading a body past its limit.

    It is an ``HTTPException`` on purpose: FastAPI turns any other exception raised while
    parsing a form into a 400, which would hide the real reason.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"request body larger than {limit} bytes",
        )


class StartTracker:
    """An ASGI ``send`` that remembers whether the response has started.

    A middleware that answers for a failing app may do so only before the app's own
    response began; after that there is nothing left to send but the failure.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def send(self, message: Message) -> None:
        """Pass ``message`` on, noting the response's start."""
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit, by Content-Length up front or while streaming."""

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.upload_limit if path in UPLOAD_PATHS else self.json_limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await _send_413(send, limit)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError(limit)
            return message

        sent = StartTracker(send)
        try:
            await self.app(scope, limited_receive, sent.send)
        except BodyTooLargeError:
            if sent.started:
                raise
            await _send_413(send, limit)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token bucket per key, in memory (one serving process, so no shared store needed)."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens; return 0 when allowed, else seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            b = self._buckets.get(key_id)
            if b is None:
                b = self._buckets[key_id] = _Bucket(self.burst, now)
            b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
            if b.tokens >= cost:
                b.tokens -= cost
                return 0.0
            return (cost - b.tokens) / self.rate

    def enforce(self, key_id: str) -> None:
        """Raise 429 with ``Retry-After`` (whole seconds) when the key is over its rate."""
        wait = self.check(key_id)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail=f"rate limit exceeded; retry in {math.ceil(wait)} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
