"""OpenAPI descriptions of the error statuses, shared by the API's routers."""

from __future__ import annotations

from typing import Any

from serving.api.schemas import Problem

Responses = dict[int | str, dict[str, Any]]


def problem(text: str) -> dict[str, Any]:
    """An error status's OpenAPI entry: the ``Problem`` body and what the status means."""
    return {"model": Problem, "description": text}


UNAUTHORIZED: Responses = {
    401: problem("No API key, or an unknown one (`WWW-Authenticate: Bearer`).")
}
FORBIDDEN: Responses = {403: problem("The key lacks the scope this route needs.")}
RATE_LIMITED: Responses = {
    429: problem("The key is over its rate; retry after `Retry-After` seconds.")
}
AUTH: Responses = {**UNAUTHORIZED, **FORBIDDEN, **RATE_LIMITED}
TOO_LARGE: Responses = {413: problem("The request body is over the size limit.")}
INVALID: Responses = {
    422: problem(
        "Invalid request: `detail` lists each problem with `loc` "
        "(`['body', 'lines', index, field]` for a line) and `msg`; a body that is not JSON "
        "is one problem of type `json_invalid`."
    )
}
NO_MODEL: Responses = {
    503: problem("No model is loaded, or the audit store is unavailable: nothing was scored.")
}
BAD_BODY: Responses = {
    400: problem(
        "The body could not be read: not UTF-8/16/32 text, a malformed multipart form, or "
        "one with too many fields (text that is not JSON is a 422, `json_invalid`)."
    )
}
