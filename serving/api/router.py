"""Every API route under one router, resource by resource (the OpenAPI document's order)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from serving.api.routes import (
    admin,
    alerts,
    cases,
    check,
    feedback,
    files,
    health,
    model,
    parties,
    score,
    tips,
)

# In the OpenAPI document's order. The app includes each one itself (see ``include``):
# FastAPI re-checks the version of every router under a matched included router on each
# request, so one level of nesting less is fewer such checks per request.
ROUTERS: tuple[APIRouter, ...] = (
    score.router,
    files.router,
    feedback.router,
    tips.router,
    cases.router,
    parties.router,
    model.router,
    admin.router,
    alerts.router,
    check.router,
    health.router,
)


def include(app: FastAPI) -> None:
    """Add every API route to ``app``, resource by resource."""
    for resource in ROUTERS:
        app.include_router(resource)
