"""OpenAPI descriptions of the error statuses, shared by the routers."""

from __future__ import annotations

from typing import Any

from serving.schemas import Problem

Responses = dict[int | str, dict[str, Any]]


def _r(text: str) -> dict[str, Any]:
    return {"model": Problem, "description": text}


UNAUTHORIZED: Responses = {401: _r("No API key, or an unknown one (`WWW-Authenticate: Bearer`).")}
FORBIDDEN: Responses = {403: _r("The key lacks the scope this route needs.")}
RATE_LIMITED: Responses = {429: _r("The key is over its rate; retry after `Retry-After` seconds.")}
AUTH: Responses = {**UNAUTHORIZED, **FORBIDDEN, **RATE_LIMITED}
TOO_LARGE: Responses = {413: _r("The request body is over the size limit.")}
INVALID: Responses = {
    422: _r(
        "Invalid request: `detail` lists each problem with `loc` "
        "(`['body', 'lines', index, field]` for a line) and `msg`."
    )
}
NO_MODEL: Responses = {
    503: _r("No model is loaded, or the audit store is unavailable: nothing was scored.")
}
BAD_BODY: Responses = {
    400: _r("The body could not be parsed: not JSON, or a malformed or oversized multipart form.")
}
