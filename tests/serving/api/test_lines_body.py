"""A score request read straight into columns gives what the request model gives, or its errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError

import serving.api.lines_body as lines_body
from serving.api.lines_body import ScoreLines, column_texts, read_score_lines

LINE = {
    "entry_id": "E-1",
    "line_no": 2,
    "entry_date": "2024-03-14",
    "hts_code": "6109.10.0012",
    "country_of_origin": "VN",
    "manufacturer_name": "HOSHINE SILICON",
    "declared_value_usd": 23326.63,
}


def _by_model(body: Any) -> ScoreLines | Exception:
    """What the request model gives for ``body`` (the fast way switched off)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    plain = lines_body._plain
    lines_body._plain = lambda data: None  # type: ignore[assignment]
    try:
        return read_score_lines(raw, "application/json")
    except (RequestValidationError, HTTPException) as exc:
        return exc
    finally:
        lines_body._plain = plain


def _read(body: Any) -> ScoreLines | Exception:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        return read_score_lines(raw, "application/json")
    except (RequestValidationError, HTTPException) as exc:
        return exc


def _same(a: ScoreLines | Exception, b: ScoreLines | Exception) -> None:
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b)
        if isinstance(a, RequestValidationError):
            assert a.errors() == b.errors()  # type: ignore[union-attr]
        return
    assert a.reasons == b.reasons
    assert a.inputs == b.inputs
    assert [{k: type(v) for k, v in line.items()} for line in a.inputs] == [
        {k: type(v) for k, v in line.items()} for line in b.inputs
    ]
    assert a.columns == b.columns


def _with(**fields: Any) -> dict[str, Any]:
    line = {**LINE, **fields}
    return {"lines": [line, {**LINE, "line_no": 3}], "reasons": 2}


CASES = [
    {"lines": [LINE]},
    {"lines": [LINE], "reasons": 0},
    {"lines": [LINE], "reasons": 10},
    _with(quantity=5),  # a JSON integer for a number: the model's float
    _with(quantity=0.0, gross_weight_kg=1e300, port_of_entry=None),
    _with(x_rate=1.5, x_flag=True, x_code="A", x_n=7, x_none=None),  # pass-through scalars
    _with(line_no=999_999_999, entry_id="E" * 128, quantity_unit="K" * 32),
    _with(importer_name="Ünïcødé 北京 \u00a0"),
    _with(transport_mode="  VESSEL "),  # the contract reader's business, not the model's
]
# Each goes the model's way: an error, or a value the model converts.
FALLBACKS = [
    {"lines": [LINE], "reasons": 11},
    {"lines": [LINE], "reasons": -1},
    {"lines": [LINE], "reasons": True},
    {"lines": [LINE], "reasons": "3"},
    {"lines": [LINE], "reasons": 3.0},
    {"lines": []},
    {"lines": [LINE] * 1001},
    {"lines": LINE},
    {"lines": [LINE], "nope": 1},
    {"reasons": 3},
    [LINE],
    {"lines": [LINE, "E-1"]},
    _with(line_no=0),
    _with(line_no=1_000_000_000),
    _with(line_no=2.0),  # the model's int
    _with(line_no="2"),  # the model's int of a text
    _with(line_no=True),
    _with(entry_id=""),
    _with(entry_id="E" * 129),
    _with(entry_id=None),
    _with(entry_id=7),
    _with(quantity=-0.5),
    _with(quantity=-1),
    _with(quantity="5"),  # the model's float of a text
    _with(quantity=True),
    _with(quantity_unit="K" * 33),
    _with(x_list=[1]),
    _with(x_obj={"a": 1}),
    {"lines": [{k: v for k, v in LINE.items() if k != "hts_code"}]},
]


@pytest.mark.parametrize("body", CASES)
def test_plain_requests_are_read_directly_as_the_model_reads_them(body: Any) -> None:
    raw = json.dumps(body).encode()
    direct = lines_body._plain(json.loads(raw))
    assert direct is not None  # the fast way took it
    _same(direct, _by_model(body))
    _same(_read(body), _by_model(body))


@pytest.mark.parametrize("body", FALLBACKS)
def test_anything_else_goes_the_models_way_with_its_errors_and_values(body: Any) -> None:
    assert lines_body._plain(json.loads(json.dumps(body))) is None
    _same(_read(body), _by_model(body))


@pytest.mark.parametrize(
    "raw", [b"", b"{not json", b"{\xb9}", b"NaN", json.dumps({"lines": [LINE]}).encode("utf-16")]
)
def test_bodies_that_are_not_json_objects_get_the_models_errors(raw: bytes) -> None:
    _same(_read(raw), _by_model(raw))


def test_a_body_of_another_content_type_is_refused_as_the_model_refuses_it() -> None:
    raw = json.dumps({"lines": [LINE]}).encode()
    with pytest.raises(RequestValidationError) as caught:
        read_score_lines(raw, "text/plain")
    assert caught.value.errors()[0]["loc"][0] == "body"
    assert isinstance(read_score_lines(raw, "application/vnd.flrisk+json"), ScoreLines)


def test_columns_hold_every_field_any_line_holds_absent_ones_none() -> None:
    got = column_texts([{"a": "x", "b": 2}, {"b": 2.5, "c": True}, {"a": None, "c": False}])
    assert got == {"a": ["x", None, None], "b": ["2", "2.5", None], "c": [None, "true", "false"]}
