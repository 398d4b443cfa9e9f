"""Inspection outcomes sent back by officers, stored for retraining."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from models.store import AuditStore, canonical_json, input_hash, now_iso
from serving.deps import FeedbackKey, RequestIdDep, StoreDep
from serving.responses import AUTH, BAD_BODY, INVALID, TOO_LARGE, _r
from serving.schemas import FeedbackIn, FeedbackOut

router = APIRouter(prefix="/v1", tags=["feedback"])


def store_feedback(
    store: AuditStore, item: FeedbackIn, key_id: str, request_id: str
) -> dict[str, Any]:
    """Write the feedback record and its audit row together; report whether it was scored."""
    ts = now_iso()
    data = item.model_dump()
    text = canonical_json(data)
    fid = store.record_feedback(
        {"ts": ts, "key_id": key_id, **data},
        {
            "request_id": request_id, "ts": ts, "key_id": key_id, "entry_id": item.entry_id,
            "line_no": item.line_no, "input_hash": input_hash(text), "input_json": text,
            "action": "feedback",
        },
    )  # fmt: skip
    scored = store.has_scored(item.entry_id, item.line_no)
    return {"feedback_id": fid, "request_id": request_id, "scored_before": scored}


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
        503: _r("The audit store is unavailable: nothing was stored."),
    },
)
def feedback(item: FeedbackIn, who: FeedbackKey, store: StoreDep, rid: RequestIdDep) -> Any:
    """Record whether a line was inspected, why, and whether a violation was found.

    Training (``flrisk train --feedback``) joins each line's latest feedback with the line
    as the API last scored it; feedback on a line never scored here is kept but unused.
    """
    return store_feedback(store, item, who.key_id, rid)
