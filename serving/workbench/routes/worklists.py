"""The officer workbench: server-rendered pages over the same model, store and keys as the API.

Officers sign in with an API key and get a server-side session (cookie: random id, HttpOnly,
SameSite=Strict); every POST form carries the session's CSRF token; every action is written
to the audit log as ``workbench_*``. Ranking, filtering and paging are pure functions in
:mod:`serving.worklist`; scoring and explanations in :mod:`serving.workbench_scoring`.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.store import AuditStore, canonical_json, now_iso
from models.store import feedback as feedback_table
from serving.auth import KeyStore
from serving.deps import get_settings, get_store
from serving.model_holder import LoadedModel, ModelHolder, ModelUnavailableError
from serving.schemas import FeedbackIn
from serving.workbench_charts import highlight, steps_for, value_range_svg, waterfall_svg
from serving.workbench_model import model_page, plot_path
from serving.workbench_scoring import (
    audit_event,
    build_worklist,
    ensure_reasons,
    explain_entry,
    top_reason,
)
from serving.workbench_state import DemoData, Session, WorkbenchState, Worklist
from serving.workbench_upload import UploadRefusedError, read_upload
from serving.worklist import (
    PAGE_SIZES,
    SORT_KEYS,
    Filters,
    capacity,
    export_csv,
    filter_entries,
    options,
    page_of,
    sort_entries,
)

router = APIRouter(include_in_schema=False)
COOKIE = "flrisk_session"
PRE_COOKIE = "flrisk_signin"
OUTCOMES = {"released": 0, "detained": 1, "excluded": 1}
MAX_EXPORT_REASONS = 1000
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
)
templates = Jinja2Templates(env=_env)
_state_lock = threading.Lock()


class PageError(Exception):
    """Answered with the error page: a readable message, never a stack trace."""

    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.title, self.message = status_code, title, message


# ---------------------------------------------------------------- plumbing


def _state(request: Request) -> WorkbenchState:
    app_state = request.app.state
    with _state_lock:
        if not hasattr(app_state, "workbench"):
            app_state.workbench = WorkbenchState()
    wb: WorkbenchState = app_state.workbench
    return wb


def _model(request: Request) -> LoadedModel:
    holder: ModelHolder = request.app.state.holder
    try:
        return holder.get()
    except ModelUnavailableError as exc:
        raise PageError(503, "No model is loaded", f"Scoring is unavailable: {exc}") from exc


def _session(request: Request, scope: str | None = None) -> Session:
    s = _state(request).sessions.get(request.cookies.get(COOKIE))
    if s is None:
        # A redirect, not an error: the officer simply has to sign in (again).
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/signin"})
    if scope and scope not in s.scopes:
        raise PageError(403, "Not allowed", f"Your key ({s.key_id}) lacks the '{scope}' scope.")
    return s


async def _form(request: Request, session: Session) -> Any:
    form = await request.form(max_files=1, max_fields=20)
    if not session.check_csrf(str(form.get("csrf_token") or "")):
        raise PageError(403, "Form expired", "The form's security token did not match: reload.")
    request.app.state.limiter.enforce(session.key_id)
    return form


def _render(request: Request, name: str, ctx: dict[str, Any], code: int = 200) -> HTMLResponse:
    session = _state(request).sessions.get(request.cookies.get(COOKIE))
    base = {"session": session, "csrf": session.csrf if session else ""}
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=code)


def _error(request: Request, exc: PageError) -> HTMLResponse:
    return _render(
        request, "error.html", {"title": exc.title, "message": exc.message}, exc.status_code
    )


def _rid() -> str:
    return uuid.uuid4().hex


def _worklist(request: Request, session: Session, wl_id: str) -> Worklist:
    wl = _state(request).worklists.get(wl_id)
    # Another key's worklist is reported as absent, like the API's jobs.
    if wl is None or (wl.key_id != session.key_id and "admin" not in session.scopes):
        raise PageError(404, "Worklist not found", "It expired or was never created: upload again.")
    return wl


def _demo(request: Request) -> DemoData | None:
    wb = _state(request)
    settings = get_settings(request)
    path = settings.demo_data
    if not path:
        return None
    with wb.demo_lock:
        if wb.demo is None:
            wb.demo = DemoData(Path(path))
            wb.demo.load()
    return wb.demo


def _preload_demo(request: Request) -> None:
    # Read the demo file while the officer is typing the key, not on their first click.
    wb = _state(request)
    if wb.demo is None:
        threading.Thread(target=_demo, args=(request,), daemon=True).start()


def _guard(fn: Any) -> Any:
    """Turn ``PageError`` (and 429s) raised by a page handler into the HTML error page."""
    import functools

    @functools.wraps(fn)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            result: Response = await fn(request, *args, **kwargs)
            return result
        except PageError as exc:
            return _error(request, exc)
        except HTTPException as exc:
            if exc.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
                return _error(request, PageError(429, "Too many requests", str(exc.detail)))
            raise

    return wrapper


# ---------------------------------------------------------------- sign-in


@router.get("/")
@_guard
async def home(request: Request) -> Response:
    """Worklists for a signed-in officer, else the sign-in page."""
    signed_in = _state(request).sessions.get(request.cookies.get(COOKIE)) is not None
    return RedirectResponse("/worklists" if signed_in else "/signin", status.HTTP_303_SEE_OTHER)


@router.get("/signin")
@_guard
async def signin_page(request: Request) -> Response:
    """The sign-in form (with a one-time token against login CSRF)."""
    _preload_demo(request)
    return _signin(request, None, 200)


def _signin(request: Request, error: str | None, code: int) -> Response:
    token = secrets.token_urlsafe(24)
    resp = _render(request, "signin.html", {"error": error, "pre_token": token}, code)
    secure = request.url.scheme == "https"
    resp.set_cookie(PRE_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return resp


@router.post("/signin")
@_guard
async def signin(request: Request) -> Response:
    """Check the key; on success open a session and go to the worklists."""
    form = await request.form(max_files=0, max_fields=5)
    pre = request.cookies.get(PRE_COOKIE) or ""
    token = str(form.get("csrf_token") or "")
    if not pre or not secrets.compare_digest(pre, token):
        return _signin(request, "The sign-in form expired. Please try again.", 400)
    keys: KeyStore = request.app.state.keys
    who = keys.verify(str(form.get("api_key") or "").strip())
    store = get_store(request)
    if who is None:
        await run_in_threadpool(
            audit_event, store, request_id=_rid(), key_id="-", action="workbench_signin_failed"
        )
        return _signin(request, "That API key is not valid. Check it and try again.", 401)
    request.app.state.limiter.enforce(who.key_id)
    session = _state(request).sessions.create(who)
    await run_in_threadpool(
        audit_event, store, request_id=_rid(), key_id=who.key_id, action="workbench_signin",
        detail={"scopes": sorted(who.scopes)},
    )  # fmt: skip
    resp = RedirectResponse("/worklists", status.HTTP_303_SEE_OTHER)
    secure = request.url.scheme == "https"
    resp.set_cookie(COOKIE, session.sid, httponly=True, samesite="strict", secure=secure)
    resp.delete_cookie(PRE_COOKIE)
    return resp


@router.post("/signout")
@_guard
async def signout(request: Request) -> Response:
    """End the session."""
    session = _session(request)
    await _form(request, session)
    _state(request).sessions.drop(session.sid)
    await run_in_threadpool(
        audit_event, get_store(request), request_id=_rid(), key_id=session.key_id,
        action="workbench_signout",
    )  # fmt: skip
    resp = RedirectResponse("/signin", status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(COOKIE)
    return resp


# ---------------------------------------------------------------- worklists


@router.get("/worklists")
@_guard
async def worklists(request: Request) -> Response:
    """Start page: upload a day's file or pick a date from the demo data."""
    _session(request, "score")
    demo = await run_in_threadpool(_demo, request)
    return _render(request, "start.html", {"demo": demo, "upload_error": None})


@router.post("/worklists/upload")
@_guard
async def upload(request: Request) -> Response:
    """Score an uploaded CSV/Parquet file; bad files get the quarantine report."""
    session = _session(request, "score")
    form = await _form(request, session)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise PageError(422, "No file", "Choose a CSV or Parquet file of entry lines to upload.")
    model = _model(request)
    try:
        read = await run_in_threadpool(read_upload, file, get_settings(request).data_dir)
    except UploadRefusedError as exc:
        return _render(request, "start.html", {"demo": None, "upload_error": exc}, 422)
    wl = await run_in_threadpool(
        lambda: build_worklist(
            _state(request), model=model, store=get_store(request),
            metrics=request.app.state.metrics, frame=read.frame, n_read=read.n_read,
            bad_rows=read.bad_rows, key_id=session.key_id, source=file.filename or "upload",
            request_id=_rid(),
        )
    )  # fmt: skip
    return RedirectResponse(f"/worklists/{wl.id}", status.HTTP_303_SEE_OTHER)


@router.post("/worklists/demo")
@_guard
async def demo_day(request: Request) -> Response:
    """Score one date of the preloaded demo data (reused if already scored)."""
    session = _session(request, "score")
    form = await _form(request, session)
    date = str(form.get("date") or "")
    demo = await run_in_threadpool(_demo, request)
    if demo is None or demo.lines is None or date not in dict(demo.dates):
        raise PageError(404, "No such date", "Pick a date from the list of demo dates.")
    model = _model(request)
    source = f"demo data, {date}"
    wb = _state(request)
    wl = wb.worklists.find(source, model.resolved.uri)
    if wl is None or wl.key_id != session.key_id:
        frame = demo.day(date)
        import pandas as pd

        wl = await run_in_threadpool(
            lambda: build_worklist(
                wb, model=model, store=get_store(request), metrics=request.app.state.metrics,
                frame=frame, n_read=len(frame), bad_rows=pd.DataFrame(), key_id=session.key_id,
                source=source, request_id=_rid(),
            )
        )  # fmt: skip
    return RedirectResponse(f"/worklists/{wl.id}", status.HTTP_303_SEE_OTHER)


def _view_args(request: Request) -> dict[str, Any]:
    q = request.query_params

    def num(name: str, default: int, lo: int, hi: int) -> int:
        try:
            return min(max(int(q.get(name, default)), lo), hi)
        except ValueError:
            return default

    sort = q.get("sort", "risk")
    return {
        "filters": Filters(
            port=q.get("port", ""),
            country=q.get("country", ""),
            chapter=q.get("chapter", ""),
            sector=q.get("sector", ""),
            band=q.get("band", ""),
        ),
        "sort": sort if sort in SORT_KEYS else "risk",
        "order": "asc" if q.get("order") == "asc" else "desc",
        "page": num("page", 1, 1, 10**7),
        "size": num("size", 50, 1, max(PAGE_SIZES)),
        "capacity": num("capacity", 50, 0, 10**6),
    }


def _select(wl: Worklist, args: dict[str, Any]) -> tuple[Any, Any, int]:
    """Filtered+sorted entries, the capacity figures, and the last rank within capacity."""
    filtered = filter_entries(wl.entries, args["filters"])
    cap = capacity(filtered, args["capacity"])
    cut_rank = int(filtered["rank"].head(cap.n).max()) if cap.n and len(filtered) else 0
    ordered = sort_entries(filtered, args["sort"], args["order"] == "desc")
    return ordered, cap, cut_rank


@router.get("/worklists/{wl_id}")
@_guard
async def worklist(request: Request, wl_id: str) -> Response:
    """The ranked worklist: filters, sort, capacity, paging; reasons for the shown page."""
    session = _session(request, "score")
    wl = _worklist(request, session, wl_id)
    args = _view_args(request)
    ordered, cap, cut_rank = _select(wl, args)
    page = page_of(ordered, args["page"], args["size"])
    ids = [str(e) for e in page.rows["entry_id"]]
    await run_in_threadpool(ensure_reasons, wl, ids)
    rows = [
        {**r, "reason": top_reason(wl, str(r["entry_id"]), int(r["top_line_no"]))}
        for r in page.rows.to_dict("records")
    ]
    params = {k: v for k, v in request.query_params.items() if k != "page"}

    def link(**over: Any) -> str:
        return f"/worklists/{wl.id}?" + urlencode({**params, **over})

    choices = {
        c: options(wl.entries, c)
        for c in ("port_of_entry", "country_of_origin", "hs_chapter", "sector")
    }
    resp = _render(
        request, "worklist.html",
        {"wl": wl, "args": args, "page": page, "rows": rows, "cap": cap, "cut_rank": cut_rank,
         "link": link, "choices": choices, "export": f"/worklists/{wl.id}/export.csv?"
         + urlencode(params), "sort_keys": SORT_KEYS, "page_sizes": PAGE_SIZES,
         "bad_rows": wl.bad_rows.head(200).to_dict("records") if len(wl.bad_rows) else [],
         "audit_error": wl.audit_error()},
    )  # fmt: skip
    resp.background = BackgroundTask(wl.shown.set)  # lets the per-line audit start now
    return resp


@router.get("/worklists/{wl_id}/export.csv")
@_guard
async def export(request: Request, wl_id: str) -> Response:
    """The filtered, sorted worklist as CSV, defused against formula injection."""
    session = _session(request, "score")
    wl = _worklist(request, session, wl_id)
    args = _view_args(request)
    ordered, cap, cut_rank = _select(wl, args)

    def build() -> str:
        within = ordered[ordered["rank"] <= cut_rank].head(MAX_EXPORT_REASONS)
        ensure_reasons(wl, [str(e) for e in within["entry_id"]])
        out = ordered.copy()
        out["top_reason"] = [
            (top_reason(wl, str(e), int(n)) or {}).get("text", "") if r <= cut_rank else ""
            for e, n, r in zip(out["entry_id"], out["top_line_no"], out["rank"], strict=True)
        ]
        return export_csv(out, within=cut_rank)

    text = await run_in_threadpool(build)
    await run_in_threadpool(
        audit_event, get_store(request), request_id=_rid(), key_id=session.key_id,
        action="workbench_export", model=wl.model,
        detail={"worklist": wl.id, "source": wl.source, "rows": len(ordered),
                "filters": vars(args["filters"]), "capacity": cap.n},
    )  # fmt: skip
    name = f"worklist-{wl.id[:8]}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- entry detail and outcome


def _outcomes(store: AuditStore, entry_id: str) -> list[dict[str, Any]]:
    q = select(feedback_table).where(feedback_table.c.entry_id == entry_id)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(feedback_table.c.id))]


@router.get("/worklists/{wl_id}/entries/{entry_id:path}")
@_guard
async def entry(request: Request, wl_id: str, entry_id: str) -> Response:
    """Every line of an entry: score, waterfall, evidence, the outcome form."""
    session = _session(request, "score")
    wl = _worklist(request, session, wl_id)
    lines = await run_in_threadpool(explain_entry, wl, entry_id)
    if not lines:
        raise PageError(404, "Entry not found", f"No entry {entry_id} in this worklist.")
    cal = wl.model.scorer.bundle.calibration
    for ln in lines:
        ln["chart"] = waterfall_svg(
            ln["base"], steps_for(ln["reasons"]), cal.a, cal.b,
            f"How the evidence moves line {ln['line_no']} from the baseline to its score",
        )  # fmt: skip
        ln["evidence"] = {r["code"]: r for r in ln["reasons"]}
        xj = ln["evidence"].get("xinjiang_address", {}).get("evidence", {})
        terms = list(xj.get("terms", []))
        ln["mfr_address"] = highlight(ln["line"].get("manufacturer_address"), terms)
        ln["shp_address"] = highlight(ln["line"].get("shipper_address"), terms)
        uv = ln["evidence"].get("unit_value", {}).get("evidence", {})
        known = uv.get("unit_value_usd") is not None and uv.get("typical_usd") is not None
        ln["value_chart"] = (
            value_range_svg(float(uv["unit_value_usd"]), float(uv["typical_usd"])) if known else ""
        )
    rid = _rid()
    await run_in_threadpool(_audit_view, get_store(request), wl, lines, rid, session.key_id)
    outcomes = await run_in_threadpool(_outcomes, get_store(request), entry_id)
    return _render(
        request, "entry.html",
        {"wl": wl, "entry_id": entry_id, "lines": lines, "outcomes": outcomes,
         "saved": request.query_params.get("saved"), "choices": list(OUTCOMES)},
    )  # fmt: skip


def _audit_view(
    store: AuditStore, wl: Worklist, lines: list[dict[str, Any]], rid: str, key_id: str
) -> None:
    ts = now_iso()
    store.record(
        {
            "request_id": rid, "ts": ts, "key_id": key_id, "entry_id": ln["line"]["entry_id"],
            "line_no": ln["line_no"], "model_version": wl.model.resolved.uri,
            "bundle_hash": wl.model.bundle_hash, "risk_score": ln["risk_score"],
            "risk_band": ln["risk_band"], "action": "workbench_view",
            "reasons_json": canonical_json({"reasons": ln["reasons"]}),
        }
        for ln in lines
    )  # fmt: skip


@router.post("/worklists/{wl_id}/outcome")
@_guard
async def outcome(request: Request, wl_id: str) -> Response:
    """Record an inspection result through the same path as ``POST /v1/feedback``."""
    from serving.routers.feedback import store_feedback

    session = _session(request, "feedback")
    form = await _form(request, session)
    wl = _worklist(request, session, wl_id)
    entry_id = str(form.get("entry_id") or "")
    choice = str(form.get("outcome") or "")
    if choice not in OUTCOMES:
        raise PageError(422, "Choose an outcome", "Pick released, detained or excluded.")
    try:
        item = FeedbackIn(
            entry_id=entry_id, line_no=int(str(form.get("line_no") or "0")), inspected=True,
            inspection_reason=str(form.get("inspection_reason") or "targeted"),  # type: ignore[arg-type]
            violation=OUTCOMES[choice], outcome=choice,  # type: ignore[arg-type]
            note=str(form.get("note") or "") or None,
        )  # fmt: skip
    except (ValidationError, ValueError) as exc:
        raise PageError(422, "Outcome not recorded", f"The form was incomplete: {exc}") from exc
    if wl.entry_lines(entry_id).empty:
        raise PageError(404, "Entry not found", f"No entry {entry_id} in this worklist.")
    if wl.audit is not None:
        # Feedback joins the line's audited input: make sure the scoring rows are written.
        await run_in_threadpool(wl.audit.result, 120)
    store = get_store(request)
    rid = _rid()
    saved = await run_in_threadpool(store_feedback, store, item, session.key_id, rid)
    await run_in_threadpool(
        audit_event, store, request_id=rid, key_id=session.key_id, action="workbench_outcome",
        detail={"entry_id": entry_id, "line_no": item.line_no, "outcome": choice,
                "feedback_id": saved["feedback_id"]},
    )  # fmt: skip
    url = f"/worklists/{wl.id}/entries/{quote(entry_id, safe='')}?saved={item.line_no}#outcomes"
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)


# ---------------------------------------------------------------- model


@router.get("/model")
@_guard
async def model(request: Request) -> Response:
    """The served model: identity, metrics, plots, model card, reference versions."""
    _session(request, "score")
    m = _model(request)
    data = await run_in_threadpool(model_page, get_settings(request), m)
    return _render(request, "model.html", data)


@router.get("/model/plots/{name}")
@_guard
async def model_plot(request: Request, name: str) -> Response:
    """A plot of the served version's evaluation (only the known names)."""
    _session(request, "score")
    path = plot_path(get_settings(request), _model(request), name)
    if path is None:
        raise PageError(404, "No such plot", f"The served model has no plot {name}.")
    return FileResponse(path, media_type="image/png")
