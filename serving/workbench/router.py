"""The workbench's pages under one router, and how an app takes the workbench in."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from serving.workbench.pages import STATIC_DIR, PageError, page_error
from serving.workbench.routes import (
    alerts,
    cases,
    entries,
    model,
    parties,
    signin,
    tips,
    worklists,
)
from serving.workbench.state import WorkbenchState

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(worklists.router)
router.include_router(entries.router)
router.include_router(model.router)
router.include_router(tips.router)
router.include_router(cases.router)
router.include_router(parties.router)
router.include_router(alerts.router)


def install(app: FastAPI) -> None:
    """Add the workbench to ``app``: its state, its pages, its error page, its static files."""
    app.state.workbench = WorkbenchState.in_store(
        app.state.store, app.state.holder.model_for, drift=getattr(app.state, "drift", None)
    )
    app.include_router(router)
    app.add_exception_handler(PageError, page_error)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
