"""A score request's body read straight into columns of text, and its lines as received.

Pydantic's model of a request (``ScoreRequest``: a model per line, then a dict per line from
``model_dump``, then the dicts turned into columns) costs more than the contract checks of
the same lines. Most requests hold nothing but plain values of the right JSON types within
their bounds; for those, one pass over the parsed JSON gives what the route needs: each
line as received (its audit record, as ``model_dump(exclude_none=True)`` gives it) and the
columns of text the contract reader checks. Anything else (a wrong type, a bound broken, a
required field missing, a field of another kind) goes the model's way, so every error is
the model's own, word for word; the fast way only ever accepts what the model accepts, and
gives the same values (``tests/serving/api/test_lines_body.py`` compares both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

import annotated_types as at
import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from serving.api.body import INLINE_BODY_BYTES, is_json, parse_body
from serving.api.entry_line import EntryLineIn
from serving.api.schemas import ScoreRequest

# The JSON types of an extra (pass-through) field's value the model keeps as they are.
_EXTRA_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class _Field:
    """What the model accepts of one declared field without converting it."""

    type_: type
    required: bool
    low: float | None = None  # bound on the value (numbers) or its length (text)
    high: float | None = None


def _fields() -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    for name, info in EntryLineIn.model_fields.items():
        args = [a for a in get_args(info.annotation) if a is not type(None)]
        type_ = args[0] if args else info.annotation
        low = high = None
        for m in info.metadata:
            if isinstance(m, at.MinLen | at.Ge):
                low = m.min_length if isinstance(m, at.MinLen) else m.ge  # type: ignore[assignment]
            elif isinstance(m, at.MaxLen | at.Le):
                high = m.max_length if isinstance(m, at.MaxLen) else m.le  # type: ignore[assignment]
            else:  # a constraint this reading does not know: that field goes the model's way
                raise TypeError(f"field {name!r}: constraint {m!r} not read")
        out[name] = _Field(type_, info.is_required(), low, high)  # type: ignore[arg-type]
    return out


FIELDS = _fields()
REQUIRED_FIELDS = frozenset(n for n, f in FIELDS.items() if f.required)
_LINES = {type(m): m for m in ScoreRequest.model_fields["lines"].metadata}
MIN_LINES: int = _LINES[at.MinLen].min_length  # type: ignore[attr-defined]
MAX_LINES: int = _LINES[at.MaxLen].max_length  # type: ignore[attr-defined]
_REASONS_FIELD = ScoreRequest.model_fields["reasons"]


@dataclass(frozen=True)
class ScoreLines:
    """A score request's lines.

    Attributes:
        inputs: Each line as received, without its null fields (its audit record).
        columns: Field name -> one text per line (``None``: absent or null); every field any
            line holds, in the order they were first met.
        reasons: Reasons per direction and line.
    """

    inputs: list[dict[str, Any]]
    columns: dict[str, list[str | None]]
    reasons: int


def _cell_text(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def column_texts(lines: Sequence[Mapping[str, Any]]) -> dict[str, list[str | None]]:
    """The lines' fields as columns of text (absent or null: ``None``), in one pass."""
    n = len(lines)
    out: dict[str, list[str | None]] = {}
    for i, line in enumerate(lines):
        for name, v in line.items():
            if v is not None:
                col = out.get(name)
                if col is None:
                    col = out[name] = [None] * n
                col[i] = _cell_text(v)
    return out


def _in_bounds(spec: _Field, low: float, high: float) -> bool:
    """Whether values (or lengths) from ``low`` to ``high`` are within the field's bounds."""
    return (spec.low is None or low >= spec.low) and (spec.high is None or high <= spec.high)


_NONE = type(None)
_TEXT_TYPES = {str, _NONE}


def _column(
    spec: _Field | None, values: list[Any], types: set[type], required: bool
) -> list[str | None] | None:
    """One field's values as texts, if the model would keep them as they are; else None.

    Per column, with set and ``map`` in C: a check per value in Python would cost more than
    the model's validation.
    """
    if required and _NONE in types:
        return None
    present = [v for v in values if v is not None] if _NONE in types else values
    if spec is None:  # an extra field: any JSON scalar, kept as given
        if not types <= {str, int, float, bool, _NONE}:
            return None
        if types <= _TEXT_TYPES:
            return values
        return [_cell_text(v) if v is not None else None for v in values]
    if not present:
        return values
    if spec.type_ is str:
        if not types <= _TEXT_TYPES:
            return None
        lengths = list(map(len, present))
        return values if _in_bounds(spec, min(lengths), max(lengths)) else None
    if not (types <= {spec.type_, _NONE} or (spec.type_ is float and types <= {float, int, _NONE})):
        return None
    if not _in_bounds(spec, min(present), max(present)):
        return None
    return [None if v is None else str(v) for v in values]


def _plain(data: Any) -> ScoreLines | None:
    """The request read directly, or None if any part of it is not plainly valid."""
    if type(data) is not dict or not data.keys() <= {"lines", "reasons"}:
        return None
    lines = data.get("lines")
    reasons = data.get("reasons", _REASONS_FIELD.default)
    if type(lines) is not list or not MIN_LINES <= len(lines) <= MAX_LINES:
        return None
    if type(reasons) is not int or not _in_bounds(REASONS, reasons, reasons):
        return None
    if set(map(type, lines)) != {dict}:
        return None
    layouts = set(map(tuple, lines))  # each line's field names, in its order
    if len(layouts) == 1:  # lines alike (the usual case): transposed in C
        columns_of = zip(*map(dict.values, lines), strict=True)
        by_name = dict(zip(layouts.pop(), map(list, columns_of), strict=True))
    else:
        names = dict.fromkeys(name for layout in layouts for name in layout)
        by_name = {name: [line.get(name) for line in lines] for name in names}
    if not by_name.keys() >= REQUIRED_FIELDS:
        return None
    columns: dict[str, list[str | None]] = {}
    nulls = False
    for name, values in by_name.items():
        spec = FIELDS.get(name)
        types = set(map(type, values))
        texts = _column(spec, values, types, name in REQUIRED_FIELDS)
        if texts is None:
            return None
        nulls = nulls or _NONE in types
        if spec is not None and spec.type_ is float and int in types:
            for line in lines:  # the model's float of a JSON integer, in the line as received
                if type(line.get(name)) is int:
                    line[name] = float(line[name])
            texts = [None if v is None else str(float(v)) for v in values]
        if types != {_NONE}:
            columns[name] = texts
    # A null field is left out of its line, as the model leaves it out.
    if nulls and any(None in line.values() for line in lines):
        lines = [{k: v for k, v in line.items() if v is not None} for line in lines]
    return ScoreLines(lines, columns, reasons)


def _reasons_bounds() -> _Field:
    low = high = None
    for m in _REASONS_FIELD.metadata:
        if isinstance(m, at.Ge):
            low = m.ge
        elif isinstance(m, at.Le):
            high = m.le
    return _Field(int, False, low, high)  # type: ignore[arg-type]


REASONS = _reasons_bounds()


def read_score_lines(raw: bytes, content_type: str | None) -> ScoreLines:
    """A score request's body as :class:`ScoreLines`, with the model's errors if it is bad.

    Raises:
        RequestValidationError: Not JSON, or not a valid request (422), as
            :func:`~serving.api.body.parse_body` raises them.
        HTTPException: A body in no JSON encoding (400).
    """
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        data = None
    direct = _plain(data) if data is not None and is_json(content_type) else None
    if direct is not None:
        return direct
    body = parse_body(raw, content_type, ScoreRequest)
    # One pydantic call for every line (the same dicts as a model_dump per line).
    inputs: list[dict[str, Any]] = body.model_dump(include={"lines"}, exclude_none=True)["lines"]
    return ScoreLines(inputs, column_texts(inputs), body.reasons)


async def score_lines_body(request: Request) -> ScoreLines:
    """The request's :class:`ScoreLines`: read in place when small, in a thread when large."""
    raw = await request.body()
    content_type = request.headers.get("content-type")
    if len(raw) <= INLINE_BODY_BYTES:
        return read_score_lines(raw, content_type)
    return await run_in_threadpool(read_score_lines, raw, content_type)
