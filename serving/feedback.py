"""Inspection outcomes: the record both the API and the workbench accept, and how it is stored.

``POST /v1/feedback`` takes it as JSON, the workbench's outcome form builds it from the form;
both store it through :func:`store_feedback`, so training sees one kind of record. The
channel is recorded with it: an officer's outcome (the workbench) outranks a system's (API).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.feedback import OUTCOMES, record_outcome
from models.store import AuditStore

Outcome = Literal["released", "detained", "excluded", "seized"]


class FeedbackIn(BaseModel):
    """The outcome of a line's inspection, as the contract's label columns."""

    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(min_length=1, max_length=128)
    line_no: int = Field(ge=1, le=999_999_999)
    decision_id: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="The `decision_id` of the scored line judged, as the score response gave it",
    )
    inspected: bool
    inspection_reason: Literal["targeted", "random", "tip"] | None = None
    violation: Literal[0, 1] | None = Field(
        default=None,
        description="1 detained/excluded/seized; 0 released; null: not known (taken from "
        "`outcome` when that is given)",
    )
    outcome: Outcome | None = Field(
        default=None, description="released (violation 0); detained, excluded, seized (1)"
    )
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _labels_consistent(self) -> FeedbackIn:
        # Same rule as the contract: labels on a line that was not inspected are a bad row.
        if not self.inspected and self.violation is not None:
            raise ValueError("violation is set on a line not inspected")
        if not self.inspected and self.inspection_reason is not None:
            raise ValueError("inspection_reason is set on a line not inspected")
        if not self.inspected and self.outcome is not None:
            raise ValueError("outcome is set on a line not inspected")
        if self.outcome is not None:
            implied = OUTCOMES[self.outcome]
            if self.violation is None:
                self.violation = implied  # type: ignore[assignment]
            elif self.violation != implied:
                raise ValueError(
                    f"outcome '{self.outcome}' contradicts violation {self.violation} "
                    f"('{self.outcome}' means violation {implied})"
                )
        return self


def store_feedback(
    store: AuditStore, item: FeedbackIn, key_id: str, request_id: str, source: str
) -> dict[str, Any]:
    """Write the outcome, its line's new status and its audit row together.

    Args:
        store: The audit store.
        item: The outcome.
        key_id: The sender's key.
        source: ``workbench`` (an officer's session) or ``api`` (a system's key).
        request_id: The request id of the audit row.

    Raises:
        UnknownDecisionError: ``decision_id`` was never scored for this line.
        AuditUnavailableError: Nothing was stored.
    """
    return record_outcome(
        store, item.model_dump(), key_id=key_id, source=source, request_id=request_id
    )
