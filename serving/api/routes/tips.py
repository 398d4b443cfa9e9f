"""Tips and allegations: file one, list them, triage one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from models.store import TipStore
from models.tips import TipError, UnknownTipError, file_tip, get_tip, triage_tip
from serving.api.deps import RequestIdDep, RowId, TipsKey
from serving.api.responses import AUTH, BAD_BODY, INVALID, TOO_LARGE, Responses, problem
from serving.deps import StoreDep
from serving.tips import TipIn, TipStatus, TriageIn, tip_record

router = APIRouter(prefix="/v1", tags=["tips"])
NOT_FOUND: Responses = {404: problem("No tip has this id.")}
UNAVAILABLE: Responses = {503: problem("The store is unavailable: nothing was stored.")}


def invalid(exc: Exception) -> RequestValidationError:
    """A 422 naming the field the message starts with."""
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": str(exc)}])


@router.post(
    "/tips",
    status_code=status.HTTP_201_CREATED,
    summary="File a tip or allegation",
    responses={201: {"description": "Stored; `duplicate_of` names the earlier tip it repeats "
                     "(then it is no new lead)."},
               **AUTH, **BAD_BODY, **TOO_LARGE, **INVALID, **UNAVAILABLE},
)  # fmt: skip
async def post_tip(tip: TipIn, who: TipsKey, store: StoreDep, rid: RequestIdDep) -> Any:
    """Store a tip: the parties it names, the goods, country, allegation, source and date.

    A tip naming a party whose normalised name (as the entity lists resolve names) is named
    by an earlier tip that is not dismissed, about overlapping goods (HS heading or
    description) or the same country, is linked as that tip's duplicate. From the next
    request on, lines of the parties it names entered on or after its received date carry a
    ``tip`` reason.
    """
    try:
        return await run_in_threadpool(
            file_tip, store, tip_record(tip), key_id=who.key_id, request_id=rid
        )
    except TipError as exc:
        raise invalid(exc) from exc


@router.get("/tips", summary="List tips", responses={**AUTH, **UNAVAILABLE})
async def list_tips(
    _who: TipsKey,
    store: StoreDep,
    status_: Annotated[TipStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Tips, newest first, optionally of one status (``new``, ``corroborated``, ``dismissed``)."""
    tips = await run_in_threadpool(TipStore(store).recent, status_, limit)
    return {"tips": tips}


@router.get("/tips/{tip_id}", summary="One tip", responses={**AUTH, **NOT_FOUND})
async def one_tip(tip_id: RowId, _who: TipsKey, store: StoreDep) -> Any:
    """A tip with its parties, goods, triage and the ids of its duplicates."""
    try:
        return await run_in_threadpool(get_tip, store, tip_id)
    except UnknownTipError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc


@router.patch(
    "/tips/{tip_id}",
    summary="Triage a tip",
    responses={**AUTH, **NOT_FOUND, **BAD_BODY, **INVALID, **UNAVAILABLE},
)
async def patch_tip(
    tip_id: RowId, change: TriageIn, who: TipsKey, store: StoreDep, rid: RequestIdDep
) -> Any:
    """Corroborate or dismiss a tip, saying why (audited with the key).

    ``new`` -> ``corroborated`` -> ``dismissed``; a dismissed tip is final and stops
    counting as evidence on the next scored line.
    """
    try:
        return await run_in_threadpool(
            triage_tip, store, tip_id, change.status, change.note, key_id=who.key_id,
            request_id=rid,
        )  # fmt: skip
    except UnknownTipError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except TipError as exc:
        raise invalid(exc) from exc
