"""The workbench's dependencies: the officer's session and scope, a CSRF-checked form, a worklist.

They play the part the API's key dependencies play (:mod:`serving.api.deps`), for a browser:
no session is a redirect to the sign-in page; a missing scope, a form whose token does not
match the session's, an officer over the rate or another key's worklist is the error page
(:class:`~serving.workbench.pages.PageError`). FastAPI resolves a route's dependencies in the
order of its parameters, and once per request: declare the session before the form.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from serving.deps import LimiterDep, from_state
from serving.model_holder import ModelUnavailableError
from serving.workbench.pages import PageError, enforce_rate
from serving.workbench.sessions import COOKIE, Session
from serving.workbench.state import WorkbenchState, Worklist

MAX_FORM_FIELDS = 20


# The workbench's state of this app: sessions, worklists, demo data.
WorkbenchDep = Annotated[WorkbenchState, Depends(from_state("workbench"))]


async def current_session(request: Request, wb: WorkbenchDep) -> Session:
    """The officer's session; without one (or once its key is revoked), the sign-in page.

    The session is read from the store (in the thread pool: it may be a database server)
    once per request; the page rendered reads it from ``request.state``.
    """
    session = await run_in_threadpool(wb.sessions.get, request.cookies.get(COOKIE))
    if session is not None and not request.app.state.keys.is_active(session.key_id):
        # the key was revoked (``flrisk keys revoke``)
        await run_in_threadpool(wb.sessions.drop, session.sid)
        session = None
    if session is None:
        # A redirect, not an error: the officer simply has to sign in (again).
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/signin"})
    request.state.wb_session = session
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def session_with(scope: str) -> Callable[..., Coroutine[Any, Any, Session]]:
    """A dependency: a session whose key holds ``scope`` (the error page, 403, otherwise)."""

    async def check(session: SessionDep) -> Session:
        if scope not in session.scopes:
            raise PageError(
                403, "Not allowed", f"Your key ({session.key_id}) lacks the '{scope}' scope."
            )
        return session

    check.__name__ = f"session_with_{scope}"
    return check


ScoreSession = Annotated[Session, Depends(session_with("score"))]
FeedbackSession = Annotated[Session, Depends(session_with("feedback"))]
PartiesSession = Annotated[Session, Depends(session_with("parties"))]


async def checked_form(request: Request, session: SessionDep, limiter: LimiterDep) -> FormData:
    """The posted form, once its CSRF token is the session's and the key is within its rate."""
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    if not session.check_csrf(str(form.get("csrf_token") or "")):
        raise PageError(403, "Form expired", "The form's security token did not match: reload.")
    enforce_rate(limiter, session.key_id)
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


async def owned_worklist(wl_id: str, session: SessionDep, wb: WorkbenchDep) -> Worklist:
    """The worklist ``wl_id`` of the session's key (any key's for an admin).

    Read from the store when this process has not got it (another worker scored it, or the
    server restarted since), with the model that scored it.
    """
    try:
        wl = await run_in_threadpool(wb.worklists.get, wl_id)
    except ModelUnavailableError as exc:
        raise PageError(
            503, "Worklist unavailable", f"The model that scored it cannot be loaded now: {exc}"
        ) from exc
    # Another key's worklist is reported as absent, like the API's jobs.
    if wl is None or (wl.key_id != session.key_id and "admin" not in session.scopes):
        raise PageError(404, "Worklist not found", "It expired or was never created: upload again.")
    return wl


WorklistDep = Annotated[Worklist, Depends(owned_worklist)]
TipsSession = Annotated[Session, Depends(session_with("tips"))]
CasesSession = Annotated[Session, Depends(session_with("cases"))]
