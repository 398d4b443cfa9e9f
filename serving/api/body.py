"""JSON request bodies read by the route itself, parsed off the event loop when large.

FastAPI parses a declared body (``json.loads`` and the model's validation) on the event loop,
before the route runs: a few megabytes hold every other request up for a large part of a
second. A route that reads its body itself (``POST /v1/score``:
:mod:`serving.api.lines_body`) parses a small one in place (a thread hop would cost more) and
a large one in the thread pool, with :func:`parse_body`'s 422 errors, the ones FastAPI gives
(``loc`` starting with ``body``). :func:`body_schema` documents the body in the
OpenAPI document as FastAPI would; :func:`document_bodies` adds the models it refers to.
"""

from __future__ import annotations

import email.message
import functools
import json
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from models.json_text import loads

M = TypeVar("M", bound=BaseModel)
INLINE_BODY_BYTES = 64 * 1024  # up to this size a body is parsed on the event loop
REF_TEMPLATE = "#/components/schemas/{model}"
FASTAPI_ERROR_MODELS = ("HTTPValidationError", "ValidationError")
# The models of bodies routes read themselves, documented in the OpenAPI components.
_BODY_MODELS: dict[str, type[BaseModel]] = {}


@functools.lru_cache(maxsize=64)
def is_json(content_type: str | None) -> bool:
    """Whether a content type is JSON (``application/json`` or ``application/*+json``).

    Remembered per distinct header value: parsing one with ``email.message`` costs more
    than reading a one-line body.
    """
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def parse_body(raw: bytes, content_type: str | None, model: type[M]) -> M:
    """Parse and validate a body as FastAPI would for a required body parameter.

    Raises:
        RequestValidationError: Not JSON, or not valid for ``model`` (422).
    """
    data: Any = None
    if raw:
        if is_json(content_type):
            try:
                data = loads(raw)
            except json.JSONDecodeError as exc:
                error = {
                    "type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                    "input": {}, "ctx": {"error": exc.msg},
                }  # fmt: skip
                raise RequestValidationError([error]) from exc
            except ValueError as exc:  # not UTF-8/16/32: FastAPI's 400 for an unreadable body
                raise HTTPException(400, detail="There was an error parsing the body") from exc
        else:
            data = raw  # refused by the model as FastAPI refuses it: not an object
    if data is None:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        return model.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def upload_body(
    description: str, fields: dict[str, Any] | None = None, **other: dict[str, Any]
) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route that takes one uploaded file (multipart field ``file``).

    Args:
        description: What the file holds.
        fields: More form fields, by name (their JSON schema).
        other: More content types the route also reads, by media type (their schema),
            e.g. ``application_json=...`` for ``application/json``.
    """
    file = {"type": "string", "format": "binary", "description": description}
    form = {
        "type": "object",
        "required": ["file"],
        "properties": {"file": file, **(fields or {})},
    }
    content = {"multipart/form-data": {"schema": form}}
    content.update({k.replace("_", "/"): {"schema": v} for k, v in other.items()})
    return {"requestBody": {"required": True, "content": content}}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads a required JSON ``model`` itself."""
    _BODY_MODELS[model.__name__] = model
    schema = {"$ref": REF_TEMPLATE.format(model=model.__name__)}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def _fastapi_components(models: list[type[BaseModel]]) -> dict[str, Any]:
    """The OpenAPI components FastAPI makes of ``models`` as declared bodies.

    A throwaway app with one declared-body route per model: FastAPI's own schema generation
    (its generator's details included), so the document is the one a declared body gives.
    """
    probe = FastAPI()
    for model in models:

        def endpoint(body: Any) -> None:  # pragma: no cover - never called
            return None

        endpoint.__annotations__ = {"body": model, "return": None}
        probe.add_api_route(f"/{model.__name__}", endpoint, methods=["POST"])
    schemas: dict[str, Any] = probe.openapi().get("components", {}).get("schemas", {})
    # FastAPI's default 422 models: the API documents its own (``Problem``).
    return {k: v for k, v in schemas.items() if k not in FASTAPI_ERROR_MODELS}


def document_bodies(app: FastAPI) -> None:
    """Add the models of :func:`body_schema` bodies to ``app``'s OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        found = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in _fastapi_components(list(_BODY_MODELS.values())).items():
            found.setdefault(name, definition)
        schema["components"]["schemas"] = dict(sorted(found.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
