"""Inspection outcomes sent back by screening systems, stored for retraining."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from models.feedback import UnknownDecisionError
from serving.api.deps import FeedbackKey, RequestIdDep
from serving.api.responses import AUTH, BAD_BODY, INVALID, TOO_LARGE, problem
from serving.api.schemas import FeedbackOut
from serving.deps import StoreDep
from serving.feedback import FeedbackIn, store_feedback

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record an inspection outcome",
    responses={
        201: {"description": "Stored; `line_status` says whether the line is labelled or "
              "under review, `label_feedback_id` which record training uses."},
        **AUTH,
        **BAD_BODY,
        **TOO_LARGE,
        **INVALID,
        503: problem("The audit store is unavailable: nothing was stored."),
    },
)  # fmt: skip
def feedback(item: FeedbackIn, who: FeedbackKey, store: StoreDep, rid: RequestIdDep) -> Any:
    """Record whether a scored line was inspected, why, and what was found.

    ``decision_id`` is the one the score response gave for the line: the outcome is tied to
    that content. An officer's outcome recorded in the workbench outranks this one; outcomes
    of the same rank that disagree put the line under review (training leaves it out).
    """
    try:
        return store_feedback(store, item, who.key_id, rid, source="api")
    except UnknownDecisionError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "decision_id"), "msg": str(exc)}]
        ) from exc
