"""Canonical JSON is byte-identical to json's; compact JSON reads back."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.json_text import canonical, compact, loads, reasons_text


def _json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.dates(),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(), VALUES, max_size=12))
def test_canonical_text_is_what_json_writes(record: dict[str, object]) -> None:
    assert canonical(record) == _json(record)


def test_canonical_text_of_the_floats_and_texts_json_writes_apart() -> None:
    # Exponents, NaN, a lone surrogate, huge integers, nested values: json's text every time.
    for value in (1e-05, 2.5e-07, 1e16, 1.5e300, math.nan, -math.inf, "\ud800", 2**70,
                  {"b": 1, "a": [1.0, None]}, dt.date(2025, 3, 1), 0.0001, 123456.789):  # fmt: skip
        record = {"x": value, "entry_id": "E1"}
        assert canonical(record) == _json(record), value


def test_compact_text_reads_back_with_numpy_values_and_nan_as_null() -> None:
    obj = {"a": np.float64(0.25), "b": np.int64(3), "c": [np.bool_(True)], "d": math.nan}
    assert json.loads(compact(obj)) == {"a": 0.25, "b": 3, "c": [True], "d": None}
    assert compact({"b": 1, "a": 2}, sort_keys=True) == b'{"a":2,"b":1}'


def test_canonical_text_of_a_row_keyed_by_column_names() -> None:
    from models.store.tables import HASHED

    row = {name: ("x" if kind is str else kind(1)) for name, kind in HASHED.items()}
    row["risk_score"] = 3.5e-05
    assert canonical(row) == _json(row)
    # Keyed by SQLAlchemy's own column names (a str subclass), the keys are converted first.
    from models.store.tables import audit

    named = {c.name: row[str(c.name)] for c in audit.columns if str(c.name) in row}
    assert any(type(k) is not str for k in named)
    assert canonical(named) == _json(row)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=4), VALUES, max_size=6), max_size=20))
def test_a_batch_is_written_as_each_record_alone(records: list[dict[str, object]]) -> None:
    from models.json_text import canonical_many, canonical_many_utf8

    want = [_json(r) for r in records]
    assert canonical_many(records) == want
    got = canonical_many_utf8(records)
    assert [t if type(t) is str else t.decode() for t in got] == want


def test_a_plain_batch_is_taken_whole_and_a_batch_with_one_odd_value_record_by_record() -> None:
    from models.json_text import BATCH_MIN, canonical_many, canonical_many_utf8

    lines = [{"entry_id": f"E{i}", "value": i * 1.25, "n": i, "ok": True} for i in range(BATCH_MIN)]
    # A plain batch: orjson's bytes, one per record, each json's text.
    assert all(type(t) is bytes for t in canonical_many_utf8(lines))
    assert canonical_many(lines) == [_json(r) for r in lines]
    # One float orjson writes otherwise, a date, a NaN, a key of another type: json's text.
    for odd in (1e-05, 1e16, math.nan, dt.date(2025, 3, 1), "\ud800", 2**70):
        batch = [*lines[:-1], {**lines[-1], "value": odd}]
        assert canonical_many(batch) == [_json(r) for r in batch], odd
    keyed = [*lines[:-1], {2: "two", 1: 1}]
    assert canonical_many(keyed) == [_json(r) for r in keyed]
    # A few records are written one by one (no batch checks), as text.
    assert canonical_many_utf8(lines[: BATCH_MIN - 1]) == [_json(r) for r in lines[:-1]]


_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text()


_NESTED = st.recursive(
    _SCALARS | st.just(np.int64(3)) | st.just(np.float32(0.5)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(_NESTED)
def test_compact_writes_plain_values_as_its_general_path_does(obj: object) -> None:
    import orjson

    from models.json_text import _COMPACT, _SORTED, _fallback

    for sort in (False, True):
        option = _COMPACT | _SORTED if sort else _COMPACT
        assert compact(obj, sort_keys=sort) == orjson.dumps(obj, option=option, default=_fallback)


def test_reasons_text_is_compact_json_of_the_items_in_their_order() -> None:
    items = [{"code": "route", "text": "Ürümqi → Los Angeles", "evidence": {"z": 1, "a": 0.5}}]
    text = reasons_text(items)
    assert text == '[{"code":"route","text":"Ürümqi → Los Angeles","evidence":{"z":1,"a":0.5}}]'
    assert json.loads(text) == items
    # NumPy values are numbers, the text still compact and UTF-8.
    np_items = [{"text": "Ürümqi", "contribution": np.float64(0.25), "n": np.int64(3)}]
    assert reasons_text(np_items) == '[{"text":"Ürümqi","contribution":0.25,"n":3}]'
    # What orjson refuses (a lone surrogate) is written by json in the same compact form.
    odd = [{"code": "x", "text": "\ud800 é", "share": 1e-05}]
    assert reasons_text(odd) == '[{"code":"x","text":"\\ud800 \\u00e9","share":1e-05}]'
    assert json.loads(reasons_text(odd)) == odd


def test_loads_reads_what_json_reads_and_fails_as_json_fails():
    text = canonical({"a": float("nan"), "b": float("inf"), "c": "é"})  # json's NaN, Infinity
    got = loads(text)
    assert math.isnan(got["a"]) and got["b"] == math.inf and got["c"] == "é"
    assert loads('{"x": [1, 2.5]}'.encode("utf-16")) == {"x": [1, 2.5]}  # orjson refuses
    assert loads(b'{"x": 1}') == {"x": 1}
    with pytest.raises(json.JSONDecodeError):
        loads("{not json")
