"""Error answers and error logs that name the problem, never the input.

- :func:`validation_error_handler` answers a request that fails validation with a 422 that
  lists each problem's ``type``, ``loc`` and ``msg``, the first ``MAX_ERRORS_LISTED`` of
  them: FastAPI's default echoes each failing ``input`` (a 1,001-line request came back
  whole, 107 KB), and a lone surrogate echoed could not be encoded (a 500).
- :class:`ScrubbedErrorsMiddleware` turns an unexpected exception into a 500 that says only
  "internal error" with the request id, and logs the exception's type and where it was raised
  (file, line, function), never its message: messages and tracebacks carry submitted values
  (a contract check's message quotes the cell) and server paths.
- :func:`public_text` makes any text safe to put in an answer: printable, JSON-encodable,
  bounded.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.limits import StartTracker

log = logging.getLogger(__name__)
MAX_ERRORS_LISTED = 100
MSG_CHARS = 300  # a problem's message is cut to this length
LOC_CHARS = 64  # a field name in a ``loc`` is cut to this length


def public_text(text: object, limit: int = MSG_CHARS) -> str:
    r"""``text`` as an answer may carry it: printable, bounded, JSON-encodable.

    Non-printable characters (lone surrogates too) are escaped (``\x00``, ``\ud800``);
    at most ``limit`` characters are kept (cut with ``…``).
    """
    s = str(text)
    if not s.isprintable():
        s = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def public_loc(loc: Sequence[Any]) -> list[str | int]:
    """A ``loc`` with its field names made public (:func:`public_text`, ``LOC_CHARS``)."""
    return [p if isinstance(p, int) else public_text(p, LOC_CHARS) for p in loc]


def public_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Each problem's ``type``, ``loc`` and ``msg``: no ``input``, no ``ctx``, no ``url``."""
    return [
        {
            "type": public_text(e.get("type", "invalid"), LOC_CHARS),
            "loc": public_loc(e.get("loc", ())),
            "msg": public_text(e.get("msg", "")),
        }
        for e in list(errors)[:MAX_ERRORS_LISTED]
    ]


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """A 422 naming each problem (``loc``, ``msg``), never echoing the input.

    ``errors_total`` says how many problems there were; ``detail`` lists the first
    ``MAX_ERRORS_LISTED``.
    """
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(
        {"detail": public_errors(errors), "errors_total": len(errors)}, status_code=422
    )


def where(exc: BaseException) -> str:
    """Where an exception was raised, innermost last, without its message or any value."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log that ``what`` failed: the exception's type and where, never its message."""
    logger.error("%s: %s at %s", what, type(exc).__name__, where(exc))


class ScrubbedErrorsMiddleware:
    """Answer an unexpected exception with a plain 500 and log it without its message.

    Starlette's own handler logs the full traceback (its message quotes values) and re-raises;
    this one, inside it, does not let the exception reach it. Once the answer has started the
    exception is re-raised (there is nothing else to send).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = StartTracker(send)
        try:
            await self.app(scope, receive, sent.send)
        except Exception as exc:
            ref = uuid.uuid4().hex[:12]
            log_failure(log, f"{scope.get('method')} {scope.get('path')} (error {ref})", exc)
            if sent.started:
                raise RuntimeError(f"response failed after it started (error {ref})") from None
            body = JSONResponse(
                {"detail": f"internal error (reference {ref} in the server log)"},
                status_code=500,
            )
            await body(scope, receive, send)
