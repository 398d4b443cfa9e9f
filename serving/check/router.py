"""The importers' self-check page (``/check``): upload a supplier list with an importer key.

Not part of the officers' workbench: no session, no worklist, no model. The key (``check``
scope) comes with each upload, in the form's password field or in ``X-API-Key`` /
``Authorization: Bearer``. A form carries a one-time token matched against a SameSite=Strict
cookie set with the page (double submit), so another site cannot post a form in the
importer's browser. Failed keys count against the address's budget like every other key.
"""

from __future__ import annotations

import math
import secrets
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from serving.auth import presented_key
from serving.deps import KeysDep, LimiterDep, SettingsDep, StoreDep, ThrottleDep
from serving.selfcheck import MAX_FORM_FIELDS, CheckRefusedError, answer, check_upload
from serving.throttle import audit_failures, client_address

TEMPLATES = Path(__file__).parent / "templates"
CSS = Path(__file__).parent / "check.css"
TOKEN_COOKIE = "flrisk_check_form"  # noqa: S105 (a cookie name, not a secret)
SCOPE = "check"

router = APIRouter(include_in_schema=False)


@cache
def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return Jinja2Templates(env=env)


def _page(request: Request, ctx: dict[str, Any], code: int = 200) -> HTMLResponse:
    """The page with a fresh form token (cookie and hidden field), never cached."""
    token = secrets.token_urlsafe(24)
    base = {"token": token, "error": None, "report": None}
    resp = _templates().TemplateResponse(request, "check.html", {**base, **ctx}, status_code=code)
    secure = request.url.scheme == "https"
    resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/check")
async def check_page(request: Request) -> Response:
    """The upload form."""
    return _page(request, {})


@router.get("/check/check.css")
async def check_css() -> Response:
    """The page's styles (served by the page itself: the workbench may not be installed)."""
    return Response(CSS.read_text(), media_type="text/css")


@router.post("/check")
async def check_submit(
    request: Request, keys: KeysDep, limiter: LimiterDep, settings: SettingsDep,
    store: StoreDep, throttle: ThrottleDep,
) -> Response:  # fmt: skip
    """Check the uploaded list and show the findings (or why not)."""
    address = client_address(request.client.host if request.client else None)
    wait = throttle.wait(address)
    if wait > 0:  # refused before the form is read or a key compared
        seconds = max(1, math.ceil(wait))
        resp = _page(request, {"error": f"Too many failed keys. Try again in {seconds} s."}, 429)
        resp.headers["Retry-After"] = str(seconds)
        return resp
    header_key = presented_key(request.scope["headers"])
    form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    if header_key is None:
        # A key typed into the form: the form must be the one this page gave out.
        cookie = request.cookies.get(TOKEN_COOKIE) or ""
        token = str(form.get("csrf_token") or "")
        if not cookie or not secrets.compare_digest(cookie, token):
            return _page(request, {"error": "The form expired. Please try again."}, 400)
    presented = header_key or str(form.get("api_key") or "").strip()
    who = keys.verify(presented) if presented else None
    if who is None:
        summary = throttle.failed(address, "api")  # an API key, typed into a page
        if summary is not None:
            await run_in_threadpool(audit_failures, store, [summary])
        return _page(request, {"error": "That API key is not valid."}, 401)
    if SCOPE not in who.scopes:
        return _page(request, {"error": f"This key lacks the '{SCOPE}' scope."}, 403)
    try:
        limiter.enforce(who.key_id)
    except HTTPException as exc:
        return _page(request, {"error": "Too many checks with this key: wait a minute."},
                     exc.status_code)  # fmt: skip
    try:
        report = await check_upload(form.get("file"), settings)
    except CheckRefusedError as exc:
        return _page(request, {"error": exc.message}, exc.status)
    return _page(request, {"report": answer(report)})


def install(app: FastAPI) -> None:
    """Add the page to ``app``."""
    app.include_router(router)
