"""Request and response models of the API (the contract columns as JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.limits import MAX_LINES

Band = Literal["high", "elevated", "low"]


def _doc(pattern: str) -> dict[str, Any]:
    """A pattern for the OpenAPI document only: the contract reader enforces the rule.

    The reader's own message (naming line and field) is what a caller gets, so pydantic must
    not reject first; the pattern still tells clients (and the API fuzzer) what is accepted.
    Semantic rules (a real calendar date, an assigned ISO code) stay beyond the schema.
    """
    return {"pattern": pattern}


_DATE = _doc(r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]00:00(:00(\.0+)?)?)?\s*$")
_HTS = _doc(r"^\s*[0-9](\.?\s?[0-9]){5,9}\s*$")
_COUNTRY = _doc(r"^\s*[A-Za-z]{2}\s*$")


class EntryLineIn(BaseModel):
    """One entry line as in ``docs/data-contract.md``; optional fields may be null or absent.

    Values are checked by the same contract reader as files (``models.contract.reader``), so a value
    that a CSV would refuse is refused here too, naming the line and field. Extra fields are
    accepted only when the served model declares them as pass-through features.
    """

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

    entry_id: str = Field(min_length=1, max_length=128, json_schema_extra=_doc(r"\S"))
    line_no: int = Field(ge=1, le=999_999_999)
    entry_date: str = Field(
        description="ISO 8601 date, e.g. 2024-03-14", max_length=32, json_schema_extra=_DATE
    )
    hts_code: str = Field(
        description="6 to 10 digits, dots allowed", max_length=32, json_schema_extra=_HTS
    )
    country_of_origin: str = Field(
        description="ISO 3166-1 alpha-2", max_length=8, json_schema_extra=_COUNTRY
    )
    importer_id: str | None = Field(default=None, max_length=256)
    importer_name: str | None = Field(default=None, max_length=1024)
    manufacturer_id: str | None = Field(default=None, max_length=256)
    manufacturer_name: str | None = Field(default=None, max_length=1024)
    manufacturer_address: str | None = Field(default=None, max_length=2048)
    shipper_name: str | None = Field(default=None, max_length=1024)
    shipper_address: str | None = Field(default=None, max_length=2048)
    country_of_export: str | None = Field(default=None, max_length=8, json_schema_extra=_COUNTRY)
    port_of_lading: str | None = Field(
        default=None, max_length=16, json_schema_extra=_doc(r"^\s*[A-Za-z]{2} ?[A-Za-z0-9]{3}\s*$")
    )
    port_of_entry: str | None = Field(
        default=None, max_length=16, json_schema_extra=_doc(r"^\s*[0-9]{4}\s*$")
    )
    transport_mode: str | None = Field(
        default=None,
        max_length=16,
        json_schema_extra=_doc(
            r"^\s*([Vv][Ee][Ss][Ss][Ee][Ll]|[Aa][Ii][Rr]|[Tt][Rr][Uu][Cc][Kk]|[Rr][Aa][Ii][Ll])\s*$"
        ),
    )
    goods_description: str | None = Field(default=None, max_length=4096)
    quantity: float | None = Field(default=None, ge=0)
    quantity_unit: str | None = Field(default=None, max_length=32)
    gross_weight_kg: float | None = Field(default=None, ge=0)
    declared_value_usd: float | None = Field(default=None, ge=0)


class ScoreRequest(BaseModel):
    """Lines to score, with how many reasons to explain each."""

    model_config = ConfigDict(extra="forbid")

    lines: list[EntryLineIn] = Field(min_length=1, max_length=MAX_LINES)
    reasons: int = Field(default=3, ge=0, le=10)


class ModelRef(BaseModel):
    """The exact model that produced a response."""

    name: str
    version: str
    alias: str | None
    bundle_hash: str
    reference_versions: dict[str, str]


class Reason(BaseModel):
    """One contribution to a score, in plain language with its evidence."""

    code: str
    text: str
    evidence: dict[str, Any]
    contribution: float
    share: float


class LineScore(BaseModel):
    """The score of one line."""

    entry_id: str
    line_no: int
    risk_score: float
    risk_band: Band
    reasons: list[Reason]
    unknown_fields: list[str] = Field(description="Optional fields that were empty or absent.")


class ScoreResponse(BaseModel):
    """Scores in the order of the request's lines."""

    request_id: str
    model: ModelRef
    results: list[LineScore]


class BadRow(BaseModel):
    """One problem in one row of an uploaded file."""

    row: int
    column: str
    value: str
    reason: str


class EntryScore(BaseModel):
    """An entry ranked by its riskiest line."""

    entry_id: str
    risk_score: float
    risk_band: Band
    lines: list[LineScore]


class FileScoreResponse(BaseModel):
    """A scored file: entries riskiest first, and the rows that could not be scored."""

    request_id: str
    model: ModelRef
    n_read: int
    n_scored: int
    entries: list[EntryScore]
    bad_rows: list[BadRow]
    bad_rows_total: int


class JobAccepted(BaseModel):
    """A large file accepted for background scoring."""

    job_id: str
    status: Literal["queued", "running", "done", "failed"]
    n_read: int
    n_lines: int
    bad_rows: list[BadRow]
    bad_rows_total: int
    location: str


class JobStatus(BaseModel):
    """A background job; ``result`` is set when it is done."""

    job_id: str
    status: Literal["queued", "running", "done", "failed", "interrupted"]
    created: str
    finished: str | None = None
    n_lines: int
    error: str | None = None
    result: FileScoreResponse | None = None


class FeedbackIn(BaseModel):
    """The outcome of a line's inspection, as the contract's label columns."""

    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(min_length=1, max_length=128)
    line_no: int = Field(ge=1, le=999_999_999)
    inspected: bool
    inspection_reason: Literal["targeted", "random", "tip"] | None = None
    violation: Literal[0, 1] | None = Field(
        default=None, description="1 detained/excluded/seized; 0 released; null: not known"
    )
    outcome: str | None = Field(default=None, max_length=64, description="e.g. detained")
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _labels_consistent(self) -> FeedbackIn:
        # Same rule as the contract: labels on a line that was not inspected are a bad row.
        if not self.inspected and self.violation is not None:
            raise ValueError("violation is set on a line not inspected")
        if not self.inspected and self.inspection_reason is not None:
            raise ValueError("inspection_reason is set on a line not inspected")
        return self


class FeedbackOut(BaseModel):
    """A stored feedback record."""

    feedback_id: int
    request_id: str
    scored_before: bool = Field(description="Whether the API scored this line before.")


class ModelInfo(BaseModel):
    """The served model: identity, metrics, thresholds, features."""

    name: str
    version: str
    alias: str | None
    uri: str
    bundle_hash: str
    reference_versions: dict[str, str]
    metrics: dict[str, Any]
    thresholds: dict[str, float]
    features: list[str]
    passthrough: dict[str, str]
    meta: dict[str, Any]
    loaded_at: float
    shadow: dict[str, Any] | None = None


class ReloadOut(BaseModel):
    """Result of a reload."""

    changed: bool
    previous: ModelRef | None
    current: ModelRef


class Problem(BaseModel):
    """An error: ``detail`` says what went wrong."""

    detail: Any
