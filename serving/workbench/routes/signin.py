"""Signing in with an API key, and out: the session behind the workbench's pages.

Officers sign in with an API key and get a server-side session (cookie: random id, HttpOnly,
SameSite=Strict); the sign-in form itself carries a one-time token against login CSRF.

Before a key is looked at, the address must be within its budget of failed attempts
(:mod:`serving.throttle`, shared with the API's keys: 429 past it) and the form small;
failed sign-ins are audited in summary, at most one row per address per interval.
"""

from __future__ import annotations

import math
import secrets
import threading

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import KeysDep, LimiterDep, SettingsDep, StoreDep, ThrottleDep, new_request_id
from serving.throttle import FailureThrottle, audit_failures, client_address
from serving.workbench.deps import FormDep, SessionDep, WorkbenchDep
from serving.workbench.pages import enforce_rate, render
from serving.workbench.scoring import audit_event
from serving.workbench.sessions import COOKIE, PRE_COOKIE

router = APIRouter(include_in_schema=False)
# A sign-in form is a key and a token: anything larger is not one, and is never parsed.
SIGNIN_MAX_BYTES = 4096
IMPORTER_SCOPES = frozenset({"check"})


@router.get("/")
async def home(request: Request, wb: WorkbenchDep) -> Response:
    """Worklists for a signed-in officer, else the sign-in page."""
    session = await run_in_threadpool(wb.sessions.get, request.cookies.get(COOKIE))
    signed_in = session is not None
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


async def _failed(throttle: FailureThrottle, store: StoreDep, address: str) -> None:
    summary = throttle.failed(address, "workbench")
    if summary is not None:  # at most one row per address per interval, counting the rest
        await run_in_threadpool(audit_failures, store, [summary])


def _small_form(request: Request) -> bool:
    # Browsers send a form with its length; without one, or past the cap, it is not read.
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) <= SIGNIN_MAX_BYTES


@router.post("/signin")
async def signin(
    request: Request, wb: WorkbenchDep, keys: KeysDep, limiter: LimiterDep, store: StoreDep,
    throttle: ThrottleDep,
) -> Response:  # fmt: skip
    """Check the key; on success open a session and go to the worklists."""
    address = client_address(request.client.host if request.client else None)
    wait = throttle.wait(address)
    if wait > 0:  # refused before the form is read or a key compared
        await _failed(throttle, store, address)
        seconds = max(1, math.ceil(wait))
        text = f"Too many failed sign-ins from this address. Try again in {seconds} s."
        resp = _signin(request, text, 429)
        resp.headers["Retry-After"] = str(seconds)
        return resp
    if not _small_form(request):
        return _signin(request, "That is not a sign-in form.", 413)
    form = await request.form(max_files=0, max_fields=5)
    pre = request.cookies.get(PRE_COOKIE) or ""
    token = str(form.get("csrf_token") or "")
    if not pre or not secrets.compare_digest(pre, token):
        return _signin(request, "The sign-in form expired. Please try again.", 400)
    who = keys.verify(str(form.get("api_key") or "").strip())
    if who is None:
        await _failed(throttle, store, address)
        return _signin(request, "That API key is not valid. Check it and try again.", 401)
    if not who.scopes - IMPORTER_SCOPES:  # an importer's key opens its own page, not this one
        return _signin(request, "This is an importer's key: use the supplier check at /check.", 403)
    enforce_rate(limiter, who.key_id)
    session = await run_in_threadpool(wb.sessions.create, who)
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
    await run_in_threadpool(wb.sessions.drop, session.sid)
    await run_in_threadpool(
        audit_event, store, request_id=new_request_id(), key_id=session.key_id,
        action="workbench_signout",
    )  # fmt: skip
    resp = RedirectResponse("/signin", status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(COOKIE)
    return resp
