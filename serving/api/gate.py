"""The API key, checked from the headers before the app reads a byte of the body.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so a
key dependency alone lets a keyless client make the server read and parse megabytes of JSON
on the event loop before it answers 401. :class:`KeyGateMiddleware` answers every ``/v1``
request without a valid key (401) or from an address over its failure budget (429, see
:mod:`serving.throttle`) straight from the headers, and hands the verified caller to the
key dependency (:func:`serving.api.deps.principal`) in the request's state. Scope and
per-key rate stay with the route's dependencies: by then the caller is known.
"""

from __future__ import annotations

import json
import math

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from models.store import AuditStore
from serving.auth import KeyStore, presented_key
from serving.throttle import FailureThrottle, audit_failures, client_address

PROTECTED_PREFIX = "/v1/"
PRINCIPAL = "flrisk_principal"  # the key of the verified caller in the request's state
UNAUTHORIZED = "missing or unknown API key"


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class KeyGateMiddleware:
    """Refuse ``/v1`` requests without a valid key before the body is read (pure ASGI).

    Args:
        app: The app behind.
        keys: The API keys.
        throttle: Failed attempts per client address.
        store: Where summaries of failed attempts are audited.
    """

    def __init__(
        self, app: ASGIApp, keys: KeyStore, throttle: FailureThrottle, store: AuditStore
    ) -> None:
        self.app = app
        self.keys = keys
        self.throttle = throttle
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"  # CORS preflights carry no key
            or not scope["path"].startswith(PROTECTED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client_address(client[0] if client else None)
        wait = self.throttle.wait(address)
        if wait <= 0:
            presented = presented_key(scope["headers"])
            who = self.keys.verify(presented) if presented else None
            if who is not None:
                scope.setdefault("state", {})[PRINCIPAL] = who
                await self.app(scope, receive, send)
                return
        # A body left unread is not drained: uvicorn would take it in on the event loop just
        # to discard it, as fast as the client sends. Closing costs the client its connection.
        close = [(b"connection", b"close")] if _has_body(scope["headers"]) else []
        summary = self.throttle.failed(address, "api")
        if summary is not None:
            await run_in_threadpool(audit_failures, self.store, [summary])
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await _refuse(
                send, 429, f"too many failed API keys from this address; retry in {seconds} s",
                [(b"retry-after", str(seconds).encode()), *close],
            )  # fmt: skip
            return
        await _refuse(send, 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer"), *close])
