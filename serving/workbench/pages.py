"""Rendering the workbench's pages, and its one error page for whatever goes wrong.

A page handler (or one of its dependencies) raises :class:`PageError`; the app answers it with
the error page (:func:`page_error`, installed by :func:`serving.workbench.router.install`):
a readable message, never a stack trace.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from models.store import Alerts, AuditStore
from serving.limits import RateLimiter
from serving.model_holder import LoadedModel, ModelHolder, ModelUnavailableError
from serving.workbench.sessions import COOKIE
from serving.workbench.state import WorkbenchState

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


class PageError(Exception):
    """Answered with the error page: a readable message, never a stack trace."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.title, self.message = status_code, title, message


@cache
def templates() -> Jinja2Templates:
    """The workbench's templates (HTML-escaped by default)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    return Jinja2Templates(env=env)


def render(request: Request, name: str, ctx: dict[str, Any], code: int = 200) -> HTMLResponse:
    """A page from its template; every page knows the officer's session and CSRF token."""
    session = getattr(request.state, "wb_session", None)
    if session is None and request.cookies.get(COOKIE):  # a page without a session dependency
        wb: WorkbenchState = request.app.state.workbench
        session = wb.sessions.get(request.cookies.get(COOKIE))
    base: dict[str, Any] = {"session": session, "csrf": session.csrf if session else ""}
    # The navigation's count of new alerts: one indexed count, cheaper than a thread hop.
    if session is not None and "alerts" in session.scopes:
        base["alerts_new"] = new_alerts(request.app.state.store)
    return templates().TemplateResponse(request, name, {**base, **ctx}, status_code=code)


def new_alerts(store: AuditStore) -> int | None:
    """New trade alerts, for the navigation's count (None when the store does not answer)."""
    try:
        return Alerts(store).count("new")
    except SQLAlchemyError:
        return None


async def page_error(request: Request, exc: Exception) -> Response:
    """The error page of a :class:`PageError` (the app's handler for it)."""
    if not isinstance(exc, PageError):  # registered for PageError only
        raise exc
    ctx = {"title": exc.title, "message": exc.message}
    return render(request, "error.html", ctx, exc.status_code)


def served_model(holder: ModelHolder) -> LoadedModel:
    """The served model, taken once for the request; the error page when none is loaded."""
    try:
        return holder.get()
    except ModelUnavailableError as exc:
        raise PageError(503, "No model is loaded", f"Scoring is unavailable: {exc}") from exc


def enforce_rate(limiter: RateLimiter, key_id: str) -> None:
    """The API's per-key rate, for an officer's actions; over it, the error page (429)."""
    try:
        limiter.enforce(key_id)
    except HTTPException as exc:
        raise PageError(429, "Too many requests", str(exc.detail)) from exc
