"""Every API route under one router, resource by resource (the OpenAPI document's order)."""

from __future__ import annotations

from fastapi import APIRouter

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

router = APIRouter()
router.include_router(score.router)
router.include_router(files.router)
router.include_router(feedback.router)
router.include_router(tips.router)
router.include_router(cases.router)
router.include_router(parties.router)
router.include_router(model.router)
router.include_router(admin.router)
router.include_router(alerts.router)
router.include_router(check.router)
router.include_router(health.router)
