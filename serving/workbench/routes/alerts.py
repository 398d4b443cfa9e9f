"""The Alerts page: trade alerts raised by re-screens, and partner alerts to decide."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from models.alerts import partner
from models.alerts.messages import DRIFT, alert_json
from models.store import Alerts, PartnerChanges
from serving.deps import SettingsDep, StoreDep, new_request_id
from serving.workbench.deps import FormDep, session_with
from serving.workbench.pages import PageError, render
from serving.workbench.scoring import audit_event
from serving.workbench.sessions import Session

router = APIRouter(include_in_schema=False)
AlertsSession = Annotated[Session, Depends(session_with("alerts"))]
AdminSession = Annotated[Session, Depends(session_with("admin"))]
KINDS = ("presumed", "matched", "partner", DRIFT)


@router.get("/alerts")
async def alerts_page(request: Request, session: AlertsSession, store: StoreDep) -> Response:
    """Alerts, newest first, filtered by status, kind and date; partner alerts pending."""
    args = request.query_params
    status_ = args.get("status") or "new"
    kind = args.get("kind") or ""
    since = args.get("since") or ""

    def load() -> dict[str, Any]:
        rows = Alerts(store).recent(
            since or None, None if status_ == "all" else status_, kind=kind or None
        )
        shown = [alert_json(r) for r in rows]
        pending = [
            {**c, "payload": json.loads(c["payload_json"])}
            for c in PartnerChanges(store).recent("pending")
        ]
        return {"alerts": shown, "pending": pending}

    data = await run_in_threadpool(load)
    return render(
        request, "alerts.html",
        {**data, "status": status_, "kind": kind, "since": since, "kinds": KINDS,
         "saved": args.get("saved"), "admin": "admin" in session.scopes},
    )  # fmt: skip


@router.get("/alerts/{alert_id}")
async def alert_entry(
    request: Request, alert_id: int, _session: AlertsSession, store: StoreDep
) -> Response:
    """One alert with its entry line as it was scored."""

    def load() -> dict[str, Any] | None:
        row = Alerts(store).get(alert_id)
        if row is None:
            return None
        audit_id = row["audit_id"]  # none for a drift alert: it is about the model
        line = Alerts(store).inputs([audit_id]).get(audit_id, {}) if audit_id else {}
        return {"alert": alert_json(row), "line": line}

    data = await run_in_threadpool(load)
    if data is None:
        raise PageError(404, "Alert not found", f"There is no alert {alert_id}.")
    return render(request, "alert.html", data)


@router.post("/alerts/{alert_id}/ack")
async def ack(alert_id: int, session: AlertsSession, _form: FormDep, store: StoreDep) -> Response:
    """Acknowledge an alert (audited), back to the list."""

    def work() -> bool:
        row = Alerts(store).get(alert_id)
        if row is None:
            return False
        if row["status"] == "new":
            Alerts(store).acknowledge(alert_id, session.key_id)
            audit_event(store, request_id=new_request_id(), key_id=session.key_id,
                        action="alert_ack", detail={"id": alert_id})  # fmt: skip
        return True

    if not await run_in_threadpool(work):
        raise PageError(404, "Alert not found", f"There is no alert {alert_id}.")
    return RedirectResponse(f"/alerts?saved={alert_id}", status.HTTP_303_SEE_OTHER)


@router.post("/alerts/partners/{change_id}")
async def decide(
    change_id: int, session: AdminSession, form: FormDep, store: StoreDep, settings: SettingsDep
) -> Response:
    """Approve (a new reference version; the server re-screens) or reject a partner alert."""
    choice = str(form.get("decision") or "")
    if choice not in ("approve", "reject"):
        raise PageError(422, "Choose approve or reject", "The form had no decision.")
    who = session.key_id
    try:
        if choice == "approve":
            await run_in_threadpool(
                partner.approve, store, change_id, who, settings.reference_root()
            )
        else:
            await run_in_threadpool(partner.reject, store, change_id, who)
    except partner.PartnerChangeError as exc:
        raise PageError(409, "Not decided", str(exc)) from exc
    return RedirectResponse("/alerts", status.HTTP_303_SEE_OTHER)
