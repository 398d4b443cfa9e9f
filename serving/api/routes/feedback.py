"""Inspection outcomes sent back by officers, stored for retraining."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

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
        201: {"description": "Stored; `scored_before` says whether training can use it."},
        **AUTH,
        **BAD_BODY,
        **TOO_LARGE,
        **INVALID,
        503: problem("The audit store is unavailable: nothing was stored."),
    },
)
def feedback(item: FeedbackIn, who: FeedbackKey, store: StoreDep, rid: RequestIdDep) -> Any:
    """Record whether a line was inspected, why, and whether a violation was found.

    Training (``flrisk train --feedback``) joins each line's latest feedback with the line
    as the API last scored it; feedback on a line never scored here is kept but unused.
    """
    return store_feedback(store, item, who.key_id, rid)
