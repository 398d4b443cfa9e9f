"""Signing in with an API key, and out: the session behind the workbench's pages.

Officers sign in with an API key and get a server-side session (cookie: random id, HttpOnly,
SameSite=Strict); the sign-in form itself carries a one-time token against login CSRF.
"""

from __future__ import annotations

import secrets
import threading

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import KeysDep, LimiterDep, SettingsDep, StoreDep, new_request_id
from serving.workbench.deps import FormDep, SessionDep, WorkbenchDep
from serving.workbench.pages import enforce_rate, render
from serving.workbench.scoring import audit_event
from serving.workbench.sessions import COOKIE, PRE_COOKIE

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, wb: WorkbenchDep) -> Response:
    """Worklists for a signed-in officer, else the sign-in page."""
    signed_in = wb.sessions.get(request.cookies.get(COOKIE)) is not None
    return RedirectResponse("/worklists" if signed_in else "/signin", status.HTTP_303_SEE_OTHER)


@router.get("/signin")
async def signin_page(request: Request, wb: WorkbenchDep, settings: SettingsDep) -> Response:
    """The sign-in form (with a one-time token against login CSRF)."""
    if wb.demo is None:  # read the demo file while the officer types the key
        threading.Thread(target=wb.demo_data, args=(settings.demo_data,), daemon=True).start()
    return _signin(request, None, 200)


def _signin(request: Request, error: str | None, code: int) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "signin.html", {"error": error, "pre_token": token}, code)
    secure = request.url.scheme == "https"
    resp.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return resp


@router.post("/signin")
async def signin(
    request: Request, wb: WorkbenchDep, keys: KeysDep, limiter: LimiterDep, store: StoreDep
) -> Response:
    """Check the key; on success open a session and go to the worklists."""
    form = await request.form(max_files=0, max_fields=5)
    pre = request.cookies.get(PRE_COOKIE) or ""
    token = str(form.get("csrf_token") or "")
    if not pre or not secrets.compare_digest(pre, token):
        return _signin(request, "The sign-in form expired. Please try again.", 400)
    who = keys.verify(str(form.get("api_key") or "").strip())
    if who is None:
        await run_in_threadpool(
            audit_event, store, request_id=new_request_id(), key_id="-",
            action="workbench_signin_failed",
        )  # fmt: skip
        return _signin(request, "That API key is not valid. Check it and try again.", 401)
    enforce_rate(limiter, who.key_id)
    session = wb.sessions.create(who)
    await run_in_threadpool(
        audit_event, store, request_id=new_request_id(), key_id=who.key_id,
        action="workbench_signin", detail={"scopes": sorted(who.scopes)},
    )  # fmt: skip
    resp = RedirectResponse("/worklists", status.HTTP_303_SEE_OTHER)
    secure = request.url.scheme == "https"
    resp.set_cookie(COOKIE, session.sid, httponly=True, samesite="strict", secure=secure)
    resp.delete_cookie(PRE_COOKIE)
    return resp


@router.post("/signout")
async def signout(
    session: SessionDep, _form: FormDep, wb: WorkbenchDep, store: StoreDep
) -> Response:
    """End the session."""
    wb.sessions.drop(session.sid)
    await run_in_threadpool(
        audit_event, store, request_id=new_request_id(), key_id=session.key_id,
        action="workbench_signout",
    )  # fmt: skip
    resp = RedirectResponse("/signin", status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(COOKIE)
    return resp
