"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from serving.api.responses import problem
from serving.deps import DriftDep, HolderDep, InstrumentsDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", responses={200: {"description": "The process runs."}})
def healthz() -> dict[str, str]:
    """Always 200 while the process serves HTTP."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    responses={
        200: {"description": "A model is loaded and the audit store takes a write."},
        503: problem("Not ready: `detail` says whether the model or the audit store is missing."),
    },
)
async def readyz(holder: HolderDep, store: StoreDep) -> Any:
    """Ready when a verified model is loaded and the audit store takes a write.

    The audit store is probed with a real write, rolled back (it leaves no row); an SQLite
    file removed or replaced under the server is not ready either.
    """
    model = holder.current
    audit_problem = await run_in_threadpool(store.probe)
    body: dict[str, Any] = {
        "model": model.info() if model else None,
        "model_error": None if model else (holder.last_error or "no model loaded"),
        "audit_store": "unavailable" if audit_problem else "ok",
    }
    ready = model is not None and audit_problem is None
    body["status"] = "ready" if ready else "not ready"
    if not ready:
        audit_error = audit_problem and f"audit store unavailable: {audit_problem}"
        body["detail"] = "; ".join(p for p in (body["model_error"], audit_error) if p)
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {}}}},
)
def metrics(m: InstrumentsDep, drift: DriftDep) -> Response:
    """Requests by route and status, latencies, scores by band, the served model, drift."""
    drift.publish(m)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
