"""Trade alerts: list and acknowledge them; receive partner authorities' alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from models.alerts.messages import EnforcementAction, alert_json
from models.alerts.partner import receive
from models.audit_rows import AuditRows
from models.store import Alerts
from serving.api.deps import AlertsKey, PartnerKey, RequestIdDep, RowId
from serving.api.responses import AUTH, BAD_BODY, INVALID
from serving.deps import StoreDep

router = APIRouter(prefix="/v1", tags=["alerts"])


@router.get(
    "/alerts",
    summary="List trade alerts",
    responses={200: {"description": "Alerts, newest first."}, **AUTH},
)
async def list_alerts(
    _who: AlertsKey,
    store: StoreDep,
    since: Annotated[str | None, Query(description="ISO time: alerts raised from then on.")] = None,
    status_: Annotated[
        Literal["new", "acknowledged"] | None, Query(alias="status", description="Alert status.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    kind: Annotated[
        Literal["presumed", "matched", "partner", "drift"] | None,
        Query(description="Alert kind: line alerts of a re-screen, or drift of the model."),
    ] = None,
) -> dict[str, Any]:
    """Alerts raised by re-screens and by drift of the served model, newest first.

    A line alert (``type: line_alert``) names the line, the party, the entity matched, its
    list and effective date, the similarity, the evidence, the reference version that
    triggered it and the line's score then and now. A drift alert (``type: drift_alert``)
    names the model, the measures that moved with their PSI, the threshold and the window.
    """
    rows = await run_in_threadpool(lambda: Alerts(store).recent(since, status_, limit, kind=kind))
    return {"alerts": [alert_json(r) for r in rows]}


@router.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge a trade alert",
    responses={200: {"description": "The alert, acknowledged."}, 404: {}, **AUTH},
)
async def ack_alert(
    alert_id: RowId, who: AlertsKey, store: StoreDep, rid: RequestIdDep
) -> dict[str, Any]:
    """Mark an alert acknowledged by the calling key (audited); again: unchanged."""

    def work() -> dict[str, Any] | None:
        before = Alerts(store).get(alert_id)
        if before is None:
            return None
        row = Alerts(store).acknowledge(alert_id, who.key_id)
        if before["status"] == "new":
            store.record([AuditRows(rid, who.key_id).event("alert_ack", {"id": alert_id})])
        return row

    row = await run_in_threadpool(work)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alert {alert_id}")
    return alert_json(row)


@router.post(
    "/alerts/inbound",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Receive a partner authority's trade alert",
    responses={202: {"description": "Stored, pending an admin's approval."}, **AUTH,
               **BAD_BODY, **INVALID},
)  # fmt: skip
async def inbound(
    action: EnforcementAction, who: PartnerKey, store: StoreDep, rid: RequestIdDep
) -> dict[str, Any]:
    """An enforcement action of a partner authority, in the outbound format (docs/alerts.md).

    It is stored as a pending reference change; once an admin approves it (workbench or
    `flrisk reference approve ID`) it is evidence in scoring and triggers a re-screen. It is
    never a UFLPA presumption.
    """
    payload = action.model_dump(mode="json")
    change_id = await run_in_threadpool(receive, store, who.key_id, payload, rid)
    return {"id": change_id, "status": "pending"}
