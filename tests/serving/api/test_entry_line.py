"""The API's entry line is the contract's: same columns, same requiredness, a field per kind."""

from __future__ import annotations

import re
import typing

import pytest
from pydantic import ValidationError

import serving.api.entry_line as entry_line
from models.contract.columns import COLUMNS, TRANSPORT_MODES, Column, Kind
from serving.api.entry_line import (
    TEXT_MAX_CHARS,
    TEXT_MAX_CHARS_BY_COLUMN,
    EntryLineIn,
    entry_line_model,
    kind_fields,
)

INPUTS = [c for c in COLUMNS if not c.label]
PYTHON_TYPE = {Kind.INTEGER: int, Kind.NUMBER: float}  # every other input kind is text
# A value of each kind the contract reader accepts: the documented pattern must accept it too.
GOOD = {
    Kind.ID: "SMZ-0004417-3", Kind.DATE: "2024-03-14", Kind.HTS: "6109.10.0012",
    Kind.COUNTRY: "vn", Kind.LOCODE: "VNSGN", Kind.PORT: "2704", Kind.TRANSPORT: "Vessel",
}  # fmt: skip


def _base_type(annotation: object) -> object:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def test_every_input_column_is_a_field_and_nothing_else() -> None:
    fields = EntryLineIn.model_fields
    assert list(fields) == [c.name for c in INPUTS]  # contract order, labels left out
    for column in INPUTS:
        info = fields[column.name]
        assert info.is_required() is column.required, column.name
        assert _base_type(info.annotation) is PYTHON_TYPE.get(column.kind, str), column.name
        if not column.required:
            assert type(None) in typing.get_args(info.annotation), column.name


def test_label_columns_are_not_request_fields() -> None:
    labels = {c.name for c in COLUMNS if c.label}
    assert labels and not labels & set(EntryLineIn.model_fields)


def test_required_and_bounds_are_enforced() -> None:
    line = {"entry_id": "E-1", "line_no": 1, "entry_date": "2024-03-14",
            "hts_code": "6109100012", "country_of_origin": "CN"}  # fmt: skip
    EntryLineIn.model_validate(line)
    for column in INPUTS:
        if column.required:
            with pytest.raises(ValidationError):
                EntryLineIn.model_validate({k: v for k, v in line.items() if k != column.name})
    with pytest.raises(ValidationError):
        EntryLineIn.model_validate({**line, "line_no": 0})
    with pytest.raises(ValidationError):
        EntryLineIn.model_validate({**line, "quantity": -1})
    long_address = "x" * (TEXT_MAX_CHARS_BY_COLUMN["manufacturer_address"] + 1)
    with pytest.raises(ValidationError):
        EntryLineIn.model_validate({**line, "manufacturer_address": long_address})
    EntryLineIn.model_validate({**line, "manufacturer_address": long_address[:-1]})


def test_text_bounds_name_text_columns_only() -> None:
    text = {c.name for c in INPUTS if c.kind is Kind.TEXT}
    assert set(TEXT_MAX_CHARS_BY_COLUMN) <= text
    bounds = {
        c.name: next(m.max_length for m in EntryLineIn.model_fields[c.name].metadata
                     if hasattr(m, "max_length"))
        for c in INPUTS if c.kind is Kind.TEXT
    }  # fmt: skip
    assert bounds == {n: TEXT_MAX_CHARS_BY_COLUMN.get(n, TEXT_MAX_CHARS) for n in text}


def test_documented_patterns_accept_what_the_contract_accepts() -> None:
    schema = EntryLineIn.model_json_schema()["properties"]
    for column in INPUTS:
        pattern = schema[column.name].get("pattern")
        assert (pattern is None) == (kind_fields()[column.kind].pattern is None)
        if pattern is not None:
            assert re.search(pattern, GOOD[column.kind]), (column.name, pattern)
    transport = schema["transport_mode"]["pattern"]
    for mode in TRANSPORT_MODES:
        assert re.search(transport, mode.upper()) and re.search(transport, f" {mode} ")
    assert not re.search(transport, "ship")


def test_a_column_added_to_the_contract_is_a_field_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    added = (*COLUMNS, Column("container_id", Kind.TEXT), Column("tare_kg", Kind.NUMBER))
    monkeypatch.setattr(entry_line, "COLUMNS", added)
    model = entry_line_model()
    assert list(model.model_fields)[-2:] == ["container_id", "tare_kg"]
    assert not model.model_fields["tare_kg"].is_required()
    with pytest.raises(ValidationError):
        model.model_validate(
            {
                "entry_id": "E",
                "line_no": 1,
                "entry_date": "2024-03-14",
                "hts_code": "610910",
                "country_of_origin": "CN",
                "tare_kg": -2,
            }
        )


def test_an_input_kind_without_a_json_field_fails_at_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(entry_line, "COLUMNS", (*COLUMNS, Column("checked", Kind.BOOLEAN)))
    with pytest.raises(TypeError, match="checked"):
        entry_line_model()
