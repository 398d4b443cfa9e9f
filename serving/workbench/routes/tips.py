"""Tips in the workbench: the tip queue, the form to file one, a tip and its triage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from models.cases import cases_of_tip
from models.store import TipStore
from models.tips import (
    SOURCE_TYPES,
    STATUSES,
    TipError,
    UnknownTipError,
    file_tip,
    get_tip,
    triage_tip,
)
from serving.deps import StoreDep, new_request_id
from serving.tips import TipIn, tip_record
from serving.workbench.deps import FormDep, TipsSession
from serving.workbench.pages import PageError, render

router = APIRouter(include_in_schema=False)
PARTY_SLOTS = 3  # parties on the form (the API takes up to 20)


@router.get("/tips")
async def tip_queue(request: Request, session: TipsSession, store: StoreDep) -> Response:
    """The tip queue, newest first, by status (``?status=new`` by default: the leads to triage)."""
    wanted = request.query_params.get("status", "new")
    shown = wanted if wanted in STATUSES else None
    tips = await run_in_threadpool(TipStore(store).recent, shown, 500)
    return render(
        request, "tips.html",
        {"tips": tips, "status": shown or "all", "statuses": STATUSES,
         "sources": SOURCE_TYPES, "slots": range(PARTY_SLOTS), "filed": None},
    )  # fmt: skip


def _form_tip(form: Any) -> dict[str, Any]:
    parties = []
    for i in range(PARTY_SLOTS):
        name = str(form.get(f"party_name_{i}") or "").strip()
        pid = str(form.get(f"party_id_{i}") or "").strip()
        if name or pid:
            parties.append({
                "role": str(form.get(f"party_role_{i}") or "manufacturer"), "name": name or None,
                "address": str(form.get(f"party_address_{i}") or "").strip() or None,
                "party_id": pid or None,
            })  # fmt: skip
    hs, desc = str(form.get("hs") or "").strip(), str(form.get("description") or "").strip()
    return {
        "parties": parties,
        "goods": [{"hs": hs or None, "description": desc or None}] if hs or desc else [],
        "country": str(form.get("country") or "").strip().upper() or None,
        "allegation": str(form.get("allegation") or ""),
        "source_type": str(form.get("source_type") or ""),
        "received_date": str(form.get("received_date") or ""),
    }


@router.post("/tips")
async def post_tip(session: TipsSession, form: FormDep, store: StoreDep) -> Response:
    """File a tip from the form, as ``POST /v1/tips`` would."""
    try:
        tip = TipIn.model_validate(_form_tip(form))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise PageError(422, "Tip not filed", f"The form was incomplete: {problems}") from exc
    try:
        saved = await run_in_threadpool(
            file_tip, store, tip_record(tip), key_id=session.key_id, request_id=new_request_id()
        )
    except TipError as exc:
        raise PageError(422, "Tip not filed", str(exc)) from exc
    return RedirectResponse(f"/tips/{saved['id']}?filed=1", status.HTTP_303_SEE_OTHER)


@router.get("/tips/{tip_id}")
async def one_tip(request: Request, tip_id: int, session: TipsSession, store: StoreDep) -> Response:
    """A tip: what it alleges, whom it names, its triage, duplicates and cases."""
    try:
        tip = await run_in_threadpool(get_tip, store, tip_id)
    except UnknownTipError as exc:
        raise PageError(404, "Tip not found", str(exc)) from exc
    cases = await run_in_threadpool(cases_of_tip, store, tip_id)
    nxt = {"new": ["corroborated", "dismissed"], "corroborated": ["dismissed"]}.get(
        tip["status"], []
    )
    return render(
        request, "tip.html",
        {"tip": tip, "cases": cases, "next": nxt, "filed": request.query_params.get("filed")},
    )  # fmt: skip


@router.post("/tips/{tip_id}/triage")
async def triage(tip_id: int, session: TipsSession, form: FormDep, store: StoreDep) -> Response:
    """Corroborate or dismiss a tip, with the officer's reason (audited)."""
    try:
        await run_in_threadpool(
            triage_tip, store, tip_id, str(form.get("status") or ""), str(form.get("note") or ""),
            key_id=session.key_id, request_id=new_request_id(),
        )  # fmt: skip
    except UnknownTipError as exc:
        raise PageError(404, "Tip not found", str(exc)) from exc
    except TipError as exc:
        raise PageError(422, "Tip not triaged", str(exc)) from exc
    return RedirectResponse(f"/tips/{tip_id}", status.HTTP_303_SEE_OTHER)
