"""A JSON request's lines become the same validated columns as the same lines in a file."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.columns import OPTIONAL, REQUIRED
from models.contract.validate import validate_lines
from serving.service import _column_texts, validate_request

LINES = [
    {"entry_id": "E1", "line_no": 1, "entry_date": "2024-03-14", "hts_code": "6109.10.0012",
     "country_of_origin": "vn", "declared_value_usd": 1234.5, "quantity": 12,
     "manufacturer_name": "ACME TEXTILES"},
    {"entry_id": "E1", "line_no": 2, "entry_date": "2024-03-14", "hts_code": "610910",
     "country_of_origin": "CN", "declared_value_usd": 10, "quantity": 2.5},
    {"entry_id": "E2", "line_no": 1, "entry_date": "2024-03-15", "hts_code": "8541.40",
     "country_of_origin": "MY", "declared_value_usd": 1e-05},
]  # fmt: skip


def test_each_cell_is_its_text_and_an_absent_field_is_none() -> None:
    names = [*REQUIRED, *OPTIONAL, "x"]
    cols = _column_texts(LINES, names)
    assert list(cols) == names
    assert cols["line_no"] == ["1", "2", "1"]
    assert cols["declared_value_usd"] == ["1234.5", "10", "1e-05"]
    assert cols["quantity"] == ["12", "2.5", None]
    assert cols["x"] == [None, None, None]


def test_json_lines_validate_as_the_same_texts_would() -> None:
    got = validate_request(LINES, {}).lines
    texts = {c: [None if line.get(c) is None else str(line[c]) for line in LINES]
             for c in (*REQUIRED, *OPTIONAL)}  # fmt: skip
    want = validate_lines(texts, passthrough={}, source="request", row_offset=0).lines
    assert len(got) == len(want) == len(LINES) and list(got) == list(want)
    for c in got:
        a, b = (
            pd.Series(np.asarray(got[c], dtype=object)),
            pd.Series(np.asarray(want[c], dtype=object)),
        )
        assert a.equals(b), c
