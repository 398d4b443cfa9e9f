"""Party profiles: one importer, manufacturer or shipper across every scored line."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from models.parties import Profile, UnknownKindError
from serving.api.deps import PartiesKey, RequestIdDep
from serving.api.responses import AUTH, problem
from serving.deps import StoreDep
from serving.parties import (
    BadPeriodError,
    audit_party,
    party_profile,
    period_of,
    profile_json,
    summary_csv,
)

router = APIRouter(prefix="/v1", tags=["parties"])
_ERRORS = {
    **AUTH,
    404: problem("No scored line names this party (or the kind is unknown)."),
    422: problem("A date of the period is not YYYY-MM-DD, or it ends before it starts."),
    503: problem("The audit store is unavailable."),
}


async def _profile(
    store: StoreDep, kind: str, key: str, start: str | None, end: str | None
) -> tuple[Profile, tuple[str, str] | None]:
    try:
        period = period_of(start, end)
        profile = await run_in_threadpool(party_profile, store, kind, key, period)
    except (UnknownKindError, BadPeriodError) as exc:
        code = 404 if isinstance(exc, UnknownKindError) else 422
        raise HTTPException(code, detail=str(exc)) from exc
    if not profile.lines and not any(s.rows for s in profile.sections):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no scored line names the {kind} {key!r}"
        )
    return profile, period


@router.get(
    "/parties/{kind}/{key:path}/summary.csv",
    summary="Export a party's summary over a period (CSV)",
    responses={200: {"content": {"text/csv": {}}, "description": "The summary."}, **_ERRORS},
    response_class=Response,
)
async def party_summary(
    kind: str, key: str, who: PartiesKey, store: StoreDep, rid: RequestIdDep,
    start: str | None = Query(None, alias="from", description="First entry date, YYYY-MM-DD"),
    end: str | None = Query(None, alias="to", description="Last entry date, YYYY-MM-DD"),
) -> Response:  # fmt: skip
    """One row per entry of the party in the period, then a total (audited: ``party_export``).

    Each row: lines, declared value, inspected and violating lines, status, list matches,
    Xinjiang terms; the header names the party, the spellings seen and the period. It is
    the basis of a civil-penalty referral of an importer.
    """
    profile, period = await _profile(store, kind, key, start, end)
    text = summary_csv(profile, period)
    detail = {"kind": kind, "key": key, "from": start, "to": end, "lines": len(profile.lines)}
    await run_in_threadpool(audit_party, store, rid, who.key_id, "party_export", detail)
    return Response(text, media_type="text/csv; charset=utf-8")


@router.get(
    "/parties/{kind}/{key:path}",
    summary="A party's profile",
    responses=_ERRORS,
)
async def party(
    kind: str, key: str, who: PartiesKey, store: StoreDep, rid: RequestIdDep,
    start: str | None = Query(None, alias="from", description="First entry date, YYYY-MM-DD"),
    end: str | None = Query(None, alias="to", description="Last entry date, YYYY-MM-DD"),
) -> Any:  # fmt: skip
    """An importer, manufacturer or shipper across every scored line.

    ``key`` is the party's id (``importer_id``, ``manufacturer_id``) or a name in any
    spelling: lines are matched by the entity lists' name normalisation. The answer holds
    the spellings seen (the cluster), lines by month, inspections and violations, list
    matches and lines under the UFLPA presumption. Audited (``party_view``).
    """
    profile, _period = await _profile(store, kind, key, start, end)
    detail = {"kind": kind, "key": key, "from": start, "to": end}
    await run_in_threadpool(audit_party, store, rid, who.key_id, "party_view", detail)
    return profile_json(profile)
