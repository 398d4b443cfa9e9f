"""Request and response models of the API.

An entry line's fields are generated from the contract (:mod:`serving.api.entry_line`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.api.entry_line import EntryLineIn
from serving.limits import MAX_LINES

Band = Literal["high", "elevated", "low"]


class ScoreRequest(BaseModel):
    """Lines to score, with how many reasons to explain each."""

    model_config = ConfigDict(extra="forbid")

    lines: list[EntryLineIn] = Field(min_length=1, max_length=MAX_LINES)
    reasons: int = Field(
        default=3, ge=0, le=10, description="Reasons per direction (raises, lowers) and line."
    )


class ModelRef(BaseModel):
    """The exact model that produced a response."""

    name: str
    version: str
    alias: str | None
    bundle_hash: str
    reference_versions: dict[str, str] = Field(
        description="The reference tables the lines were matched against (per table its "
        "version and content hash, and the reference `snapshot`): the tables in force when "
        "the request was scored."
    )
    model_reference_versions: dict[str, str] | None = Field(
        default=None, description="The reference tables the model was trained with."
    )


class Reason(BaseModel):
    """One contribution to a score, in plain language with its evidence."""

    code: str
    direction: Literal["presumes", "raises", "lowers", "note"] = Field(
        description="`presumes`: the legal basis of the line's presumption (code "
        "`presumption`, first, with its citation and effective date); `raises`/`lowers`: "
        "evidence that raises or lowers the line's risk, largest first; `note`: information "
        "that moves nothing (code `listed_later`: a party listed after the entry date)."
    )
    text: str
    evidence: dict[str, Any]
    contribution: float
    share: float


class LineScore(BaseModel):
    """The score of one line."""

    entry_id: str
    line_no: int
    decision_id: str | None = Field(
        description="SHA-256 of the line's content as audited: send it with the line's "
        "feedback (null only in jobs finished before decision ids existed)."
    )
    risk_score: float
    risk_band: Band
    presumption: str = Field(
        default="",
        description="Why the law presumes the goods made with forced labour on the entry "
        "date: `uflpa_entity`, `xinjiang`, `wro` (several joined with `;`), or empty. "
        "Presumed lines and entries rank before all others; the score stays the model's "
        "calibrated probability.",
    )
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
    presumption: str = Field(
        default="",
        description="Why the law presumes the goods made with forced labour on the entry "
        "date: `uflpa_entity`, `xinjiang`, `wro` (several joined with `;`), or empty. "
        "Presumed lines and entries rank before all others; the score stays the model's "
        "calibrated probability.",
    )
    lines: list[LineScore]
    selection: Literal["risk", "random_check"] | None = Field(
        default=None,
        description="With `select`: `risk` (among the riskiest), `random_check` (drawn at "
        "random from the rest: outcomes sent for its lines are stored as "
        "`inspection_reason=random`), null (not selected).",
    )


class SelectionOut(BaseModel):
    """The selection asked for with `select`: its size, random share, seed and cost."""

    capacity: int = Field(description="Entries selected.")
    explore: float = Field(description="Share of them drawn at random from the rest.")
    seed: int = Field(description="Seed of the draw: the first 8 hex digits of the job id.")
    stratify: Literal["sector"] | None = None
    random_checks: int
    expected_found: float = Field(description="Sum of the selected entries' scores.")
    expected_cost: float = Field(
        description="Expected violating entries forgone: scores of the riskiest entries the "
        "random checks displaced minus the expected finds of the random checks."
    )


class FileScoreResponse(BaseModel):
    """A scored file: entries riskiest first, and the rows that could not be scored."""

    request_id: str
    model: ModelRef
    n_read: int
    n_scored: int
    entries: list[EntryScore]
    bad_rows: list[BadRow]
    bad_rows_total: int
    selection: SelectionOut | None = None


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


class FeedbackOut(BaseModel):
    """A stored feedback record and the status of its line."""

    feedback_id: int
    request_id: str
    decision_id: str
    line_status: Literal["labelled", "review"] = Field(
        description="labelled: one label in force; review: outcomes of the same rank "
        "disagree, and training leaves the line out"
    )
    label_feedback_id: int | None = Field(
        description="The record training uses for this line (an officer's outranks a "
        "system's); null under review."
    )
    inspection_reason: Literal["targeted", "random", "tip"] | None = Field(
        default=None,
        description="As stored: `random` when the line was an exploration pick of a file "
        "job's selection (`selection: random_check`), whatever the request said.",
    )


class ModelInfo(BaseModel):
    """The served model: identity, metrics, thresholds, features."""

    name: str
    version: str
    alias: str | None
    uri: str
    bundle_hash: str
    reference_versions: dict[str, str] = Field(
        description="The reference tables in force now (what the next request is matched against)."
    )
    model_reference_versions: dict[str, str] | None = Field(
        default=None, description="The reference tables the model was trained with."
    )
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


class FileRefused(BaseModel):
    """An upload refused: ``detail`` says why; when rows were read, the bad-row report."""

    detail: Any
    n_read: int | None = Field(default=None, description="Rows read, when any were.")
    bad_rows: list[BadRow] | None = Field(
        default=None, description="The first 1000 problems (row, column, value, reason)."
    )
    bad_rows_total: int | None = Field(default=None, description="Problems in the file.")
