"""Inspection outcomes: the record both the API and the workbench accept, and how it is stored.

``POST /v1/feedback`` takes it as JSON, the workbench's outcome form builds it from the form;
both store it through :func:`store_feedback`, so training sees one kind of record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.audit_rows import AuditRows
from models.store import AuditStore


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


def store_feedback(
    store: AuditStore, item: FeedbackIn, key_id: str, request_id: str
) -> dict[str, Any]:
    """Write the feedback record and its audit row together; report whether it was scored."""
    rows = AuditRows(request_id, key_id)
    data = item.model_dump()
    fid = store.record_feedback(
        {"ts": rows.ts, "key_id": key_id, **data}, rows.feedback(item.entry_id, item.line_no, data)
    )
    scored = store.has_scored(item.entry_id, item.line_no)
    return {"feedback_id": fid, "request_id": request_id, "scored_before": scored}
