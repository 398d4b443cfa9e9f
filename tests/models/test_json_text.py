"""Canonical JSON is byte-identical to json's; compact JSON reads back."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.json_text import canonical, compact


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
