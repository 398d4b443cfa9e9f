"""JSON text of audit records and answers: canonical where it is hashed, fast everywhere.

:func:`canonical` is the text every stored hash covers (a line's decision id, the audit
chain): sorted keys, no spaces, UTF-8 kept, exactly as ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` writes it, so the hashes of rows written before
stay valid. ``orjson`` writes the same text for a flat record of texts, whole numbers,
booleans and floats written without an exponent (tested value by value), in a fraction of the
time; a float it would write otherwise (1e-05, NaN) is handed to it as json's text; any other
record (nested, a date) takes ``json``.
:func:`compact` is for text that is stored or sent but never re-derived (reasons, answers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)
_SORTED = orjson.OPT_SORT_KEYS
_COMPACT = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
# Python's float repr and orjson's agree on every float in this range (no exponent).
_LOW, _HIGH = 1e-4, 1e16
_STR = frozenset({str})
# Values orjson writes exactly as json does, whatever they hold (ints within 64 bits).
_PLAIN = frozenset({str, int, bool, type(None)})
_PLAIN_OR_FLOAT = _PLAIN | {float}


def _json_float(x: float) -> str:
    """``json``'s text of a float (``float.__repr__``; NaN and the infinities by name)."""
    return _CANONICAL.encode(x)


def _as_orjson(obj: Mapping[Any, Any]) -> Mapping[Any, Any] | None:
    """``obj`` ready for orjson to write as ``json`` does, or None when it cannot be.

    A float orjson would write otherwise (an exponent, NaN) goes in as a ``Fragment`` of
    json's own text for it. Whole numbers orjson cannot take (beyond 64 bits) make it raise,
    and :func:`canonical` falls back to json.
    """
    if set(map(type, obj)) - _STR:
        # A str subclass as a key (SQLAlchemy's column names): orjson takes plain str only.
        if not all(isinstance(k, str) for k in obj):
            return None
        obj = {str.__str__(k): v for k, v in obj.items()}
    # The types of the values, in one pass in C: most records hold texts and whole numbers.
    kinds = set(map(type, obj.values()))
    if kinds <= _PLAIN:
        return obj
    if not kinds <= _PLAIN_OR_FLOAT:
        return None
    out: dict[str, Any] | None = None
    for k, v in obj.items():
        if type(v) is float and not (v == 0.0 or _LOW <= abs(v) < _HIGH):
            if out is None:
                out = dict(obj)
            out[k] = orjson.Fragment(_json_float(v))
    return obj if out is None else out


def canonical(obj: Mapping[str, Any]) -> str:
    """The canonical JSON text of a record (what hashes cover); see the module docstring."""
    ready = _as_orjson(obj)
    if ready is not None:
        try:
            return orjson.dumps(ready, option=_SORTED).decode()
        except orjson.JSONEncodeError:  # e.g. a lone surrogate in a text: json writes it
            pass
    return _CANONICAL.encode(obj)


def compact(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON (UTF-8) of an answer or a stored text never re-derived from its record.

    NumPy values are written as numbers; NaN and the infinities as ``null``.
    """
    option = _COMPACT | _SORTED if sort_keys else _COMPACT
    return orjson.dumps(obj, option=option, default=_fallback)


def _fallback(obj: Any) -> Any:
    if hasattr(obj, "item"):  # a NumPy scalar orjson does not take natively (e.g. bytes_)
        return obj.item()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    return str(obj)
