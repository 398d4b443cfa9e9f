"""The API's entry line (``EntryLineIn``), generated from the contract's column declaration.

Which fields exist, in which order, and which are required come from
``models.contract.columns.COLUMNS``; each column's :class:`~models.contract.columns.Kind`
decides its JSON type, its bounds and the pattern the OpenAPI document shows. Label columns
are training data, not inputs: a screening request does not carry them. A column added to the
contract is thus a field of the API at once, and a kind the API cannot represent fails at
start-up rather than silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import JsonDict

from models.contract.columns import COLUMNS, TRANSPORT_MODES, Column, Kind

# Text fields are bounded so a request cannot carry megabytes in one cell; these columns
# differ from the kind's bound (ids are short, addresses and descriptions long).
TEXT_MAX_CHARS = 1024
TEXT_MAX_CHARS_BY_COLUMN: dict[str, int] = {
    "importer_id": 256,
    "manufacturer_id": 256,
    "manufacturer_address": 2048,
    "shipper_address": 2048,
    "goods_description": 4096,
    "quantity_unit": 32,
}
MAX_LINE_NO = 999_999_999
DATE_PATTERN = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]00:00(:00(\.0+)?)?)?\s*$"
HTS_PATTERN = r"^\s*[0-9](\.?\s?[0-9]){5,9}\s*$"
COUNTRY_PATTERN = r"^\s*[A-Za-z]{2}\s*$"
LOCODE_PATTERN = r"^\s*[A-Za-z]{2} ?[A-Za-z0-9]{3}\s*$"
PORT_PATTERN = r"^\s*[0-9]{4}\s*$"


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


@dataclass(frozen=True)
class KindField:
    """How one contract kind is a JSON field.

    Attributes:
        type_: The JSON value's Python type.
        bounds: Constraints pydantic enforces (lengths, ranges): a request's size limits.
        pattern: A pattern for the OpenAPI document only: the contract reader enforces the
            rule, and its own message (naming line and field) is what a caller gets, so
            pydantic must not reject first. It still tells clients (and the API fuzzer) what
            is accepted; semantic rules (a real calendar date, an assigned ISO code) stay
            beyond the schema.
        description: Shown in the OpenAPI document.
    """

    type_: type
    bounds: dict[str, Any] = field(default_factory=dict)
    pattern: str | None = None
    description: str | None = None


def kind_fields() -> dict[Kind, KindField]:
    """The JSON field of every contract kind an entry line's inputs use."""
    transport = "|".join(_any_case(m) for m in sorted(TRANSPORT_MODES))
    return {
        Kind.ID: KindField(str, {"min_length": 1, "max_length": 128}, r"\S"),
        Kind.TEXT: KindField(str, {"max_length": TEXT_MAX_CHARS}),
        Kind.INTEGER: KindField(int, {"ge": 1, "le": MAX_LINE_NO}),
        Kind.DATE: KindField(
            str, {"max_length": 32}, DATE_PATTERN, "ISO 8601 date, e.g. 2024-03-14"
        ),
        Kind.HTS: KindField(str, {"max_length": 32}, HTS_PATTERN, "6 to 10 digits, dots allowed"),
        Kind.COUNTRY: KindField(str, {"max_length": 8}, COUNTRY_PATTERN, "ISO 3166-1 alpha-2"),
        Kind.LOCODE: KindField(str, {"max_length": 16}, LOCODE_PATTERN),
        Kind.PORT: KindField(str, {"max_length": 16}, PORT_PATTERN),
        Kind.TRANSPORT: KindField(str, {"max_length": 16}, rf"^\s*({transport})\s*$"),
        Kind.NUMBER: KindField(float, {"ge": 0}),
    }


def input_columns() -> tuple[Column, ...]:
    """The contract columns a screening request carries: all but the labels."""
    return tuple(c for c in COLUMNS if not c.label)


def _field(column: Column, spec: KindField) -> tuple[Any, Any]:
    bounds = dict(spec.bounds)
    if column.kind is Kind.TEXT:
        bounds["max_length"] = TEXT_MAX_CHARS_BY_COLUMN.get(column.name, TEXT_MAX_CHARS)
    extra: JsonDict | None = {"pattern": spec.pattern} if spec.pattern else None
    if column.required:
        return spec.type_, Field(description=spec.description, json_schema_extra=extra, **bounds)
    info = Field(None, description=spec.description, json_schema_extra=extra, **bounds)
    return spec.type_ | None, info


class EntryLineBase(BaseModel):
    """What every generated entry line model shares: its config and its extra fields."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "entry_id": "SMZ-0004417-3",
                    "line_no": 2,
                    "entry_date": "2024-03-14",
                    "hts_code": "6109.10.0012",
                    "country_of_origin": "VN",
                    "manufacturer_name": "HOSHINE SILICON IND SHANSHAN CO LTD",
                    "declared_value_usd": 23326.63,
                }
            ]
        },
    )

    # Extra fields (pass-through features the served model declares) are scalars; others are
    # refused here with the field in ``loc``, unknown names by the contract check after.
    __pydantic_extra__: dict[str, str | int | float | bool | None] = Field(init=False)


ENTRY_LINE_DOC = (
    "One entry line as in ``docs/data-contract.md``; optional fields may be null or absent.\n\n"
    "Values are checked by the same contract reader as files (``models.contract.reader``), so a "
    "value\nthat a CSV would refuse is refused here too, naming the line and field. Extra fields "
    "are\naccepted only when the served model declares them as pass-through features."
)


def entry_line_model() -> type[EntryLineBase]:
    """Build ``EntryLineIn``: one field per input column of the contract, in its order.

    Raises:
        TypeError: A contract column has a kind the API has no JSON field for.
    """
    specs = kind_fields()
    fields: dict[str, Any] = {}
    for column in input_columns():
        spec = specs.get(column.kind)
        if spec is None:
            raise TypeError(f"contract column {column.name!r}: no API field for kind {column.kind}")
        fields[column.name] = _field(column, spec)
    model: type[EntryLineBase] = create_model(
        "EntryLineIn", __base__=EntryLineBase, __doc__=ENTRY_LINE_DOC, __module__=__name__,
        **fields,
    )  # fmt: skip
    return model


if TYPE_CHECKING:

    class EntryLineIn(EntryLineBase):
        """The generated model, as type checkers see it (its fields exist at run time)."""

else:
    EntryLineIn = entry_line_model()
