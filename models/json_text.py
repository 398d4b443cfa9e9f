"""JSON text of audit records and answers: canonical where it is hashed, fast everywhere.

:func:`canonical` is the text every stored hash covers (a line's decision id, the audit
chain): sorted keys, no spaces, UTF-8 kept, exactly as ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` writes it, so the hashes of rows written before
stay valid. ``orjson`` writes the same text for a flat record of texts, whole numbers,
booleans and floats written without an exponent (tested value by value), in a fraction of the
time; a float it would write otherwise (1e-05, NaN) is handed to it as json's text; any other
record (nested, a date) takes ``json``.
:func:`compact` is for text that is stored or sent but never re-derived (reasons, answers);
:func:`reasons_text` is a line's reasons as the scores files and the pyfunc carry them;
:func:`loads` reads JSON back as ``json.loads`` does, by orjson when it can.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import chain, compress, repeat
from math import isnan
from operator import is_
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
_DICT = frozenset({dict})
# Reasons orjson cannot write (a lone surrogate in a party's name): compact too, and every
# character past ASCII escaped, so that the text can still be written as UTF-8.
_REASONS_FALLBACK = json.JSONEncoder(separators=(",", ":"))
# Records from which the checks are made once for the batch, not once per record: below it,
# their fixed cost (a few passes over the values) is more than they save. Also the audit
# chain's (models.audit_chain.prepare).
BATCH_MIN = 8


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


def canonical_many(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """:func:`canonical` of each record, its checks made once over the whole batch.

    The values' types are found in one pass in C over every record, and the floats' range
    in a few more, instead of per record: a batch of plain records (a request's lines,
    their audit rows) goes to orjson as it is. orjson refuses a key that is not a plain
    ``str``. Any other batch is written record by record by :func:`canonical`, so the text
    is the same either way.
    """
    return [t if isinstance(t, str) else t.decode() for t in canonical_many_utf8(records)]


def canonical_many_utf8(records: Sequence[Mapping[str, Any]]) -> list[str | bytes]:
    """:func:`canonical_many` as orjson writes it (UTF-8 bytes), or text where json wrote it.

    For text that is only hashed (the audit chain's): decoding it to hash it again would
    copy it twice.
    """
    if len(records) < BATCH_MIN or not set(map(type, records)) <= _DICT:
        return [canonical(r) for r in records]
    values: list[Any] = list(chain.from_iterable(map(dict.values, records)))  # type: ignore[arg-type]
    types = list(map(type, values))
    kinds = set(types)
    plain = kinds <= _PLAIN_OR_FLOAT
    if plain and float in kinds:
        plain = _all_plain_floats(list(compress(values, map(is_, types, repeat(float)))))
    if plain:
        try:
            return [orjson.dumps(r, option=_SORTED) for r in records]
        except orjson.JSONEncodeError:  # a key not a plain str, an int past 64 bits...
            pass
    return [canonical(r) for r in records]


def _all_plain_floats(floats: list[float]) -> bool:
    """Whether orjson writes each of these floats as ``json`` does (see ``_LOW``)."""
    sizes = list(map(abs, floats))
    if any(map(isnan, sizes)):
        return False
    return max(sizes) < _HIGH and min(filter(None, sizes), default=_LOW) >= _LOW


def compact(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Compact JSON (UTF-8) of an answer or a stored text never re-derived from its record.

    NumPy values are written as numbers; NaN and the infinities as ``null``.
    """
    # Plain values first, with no options: NumPy values, keys that are not texts and other
    # types make orjson raise, and then take the general path (the same text either way).
    # The options and the fallback cost about a third more on plain values (answers, reasons).
    try:
        return orjson.dumps(obj, option=_SORTED if sort_keys else None)
    except orjson.JSONEncodeError:
        pass
    option = _COMPACT | _SORTED if sort_keys else _COMPACT
    return orjson.dumps(obj, option=option, default=_fallback)


def _fallback(obj: Any) -> Any:
    if hasattr(obj, "item"):  # a NumPy scalar orjson does not take natively (e.g. bytes_)
        return obj.item()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    return str(obj)


def reasons_text(items: Sequence[Mapping[str, Any]]) -> str:
    r"""A line's reasons as JSON text: compact, UTF-8 kept, keys in the reasons' own order.

    What the scores files, Spark's output and the pyfunc's ``reasons`` column hold per
    explained line. orjson writes it in a tenth of ``json``'s time (a tenth of a 10M-line
    run's reasons went to ``json`` before); ``json`` takes what orjson refuses, compact as
    well, with characters past ASCII escaped (a lone surrogate as ``\ud800``).
    """
    try:  # NumPy values too (written as numbers), as in every other answer
        return compact(items).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _REASONS_FALLBACK.encode(items)


def loads(raw: bytes | str) -> Any:
    """``json.loads(raw)``, by orjson when it can.

    json reads what orjson refuses: UTF-16/32 bytes, and the ``NaN`` and ``Infinity`` that
    :func:`canonical` writes for non-finite floats; its errors (``json.JSONDecodeError``, a
    ``ValueError``) are the ones raised.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
