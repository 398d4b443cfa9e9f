"""JSON text of audit records and answers: canonical where it is hashed, fast everywhere.

:func:`canonical` is the text every stored hash covers (a line's decision id, the audit
chain): sorted keys, no spaces, UTF-8 kept, exactly as ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` writes it, so the hashes of rows written before
stay valid. ``orjson`` writes the same text for a flat record of texts, whole numbers,
booleans and floats written without an exponent (tested value by value), many times faster;
any other record (nested, a NaN, a float such as 1e-05, a date) takes ``json``.
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


def _plain_float(x: float) -> bool:
    return x == 0.0 or _LOW <= abs(x) < _HIGH  # False for NaN and the infinities


def _flat(obj: Mapping[Any, Any]) -> bool:
    """Whether orjson writes ``obj`` exactly as ``json`` does (see the module docstring)."""
    for k, v in obj.items():
        if type(k) is not str:
            return False
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if -(2**63) <= v < 2**63:
                continue
            return False
        if t is float and _plain_float(v):
            continue
        return False
    return True


def canonical(obj: Mapping[str, Any]) -> str:
    """The canonical JSON text of a record (what hashes cover); see the module docstring."""
    if _flat(obj):
        try:
            return orjson.dumps(obj, option=_SORTED).decode()
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
