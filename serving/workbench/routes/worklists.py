"""Worklists: start a day (upload a file, or pick a demo date), rank it, page it, export it.

Ranking, filtering and paging are pure functions in :mod:`serving.workbench.worklist`;
scoring and explanations in :mod:`serving.workbench.scoring`. Every action is written to the
audit log as ``workbench_*``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.reference.names import country_name, hs_chapter_name, port_name
from models.selection import DEFAULT_EXPLORE, seed_of
from serving.deps import HolderDep, InstrumentsDep, SettingsDep, StoreDep, new_request_id
from serving.parties import entry_statuses
from serving.tips import tip_index
from serving.uploads import UploadRefusedError, read_upload, report_rows
from serving.workbench.deps import FormDep, ScoreSession, WorkbenchDep, WorklistDep
from serving.workbench.exploration import keep_picks
from serving.workbench.pages import PageError, render, served_model
from serving.workbench.scoring import audit_event, build_worklist, ensure_reasons, top_reason
from serving.workbench.state import Worklist
from serving.workbench.worklist import (
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
MAX_EXPORT_REASONS = 1000
MAX_REPORT_ROWS = 200  # bad-row report rows shown on a page
MAX_SEARCH = 200  # characters of a search kept
MAX_NAME = 40  # characters of a name shown in a filter's choice
# Code columns shown with their names beside them, and where the names come from.
NAMED: dict[str, Callable[[str], str]] = {
    "port_of_entry": port_name, "country_of_origin": country_name, "hs_chapter": hs_chapter_name,
}  # fmt: skip


@router.get("/worklists")
async def worklists(
    request: Request, _session: ScoreSession, wb: WorkbenchDep, settings: SettingsDep
) -> Response:
    """Start page: upload a day's file or pick a date from the demo data."""
    demo = await run_in_threadpool(wb.demo_data, settings.demo_data)
    return render(request, "start.html", {"demo": demo, "upload_error": None})


@router.post("/worklists/upload")
async def upload(
    request: Request, session: ScoreSession, form: FormDep, wb: WorkbenchDep,
    holder: HolderDep, store: StoreDep, instruments: InstrumentsDep, settings: SettingsDep,
) -> Response:  # fmt: skip
    """Score an uploaded CSV/Parquet file; bad files get the quarantine report."""
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise PageError(422, "No file", "Choose a CSV or Parquet file of entry lines to upload.")
    model = served_model(holder)
    try:  # the API's upload path and limits; the file's kind by its name, as the officer sees it
        read = await run_in_threadpool(
            lambda: read_upload(file, settings, by_type=False, prefix="wb-upload-")
        )
    except UploadRefusedError as exc:
        status_code = 422 if exc.status == 415 else exc.status
        return render(request, "start.html", {"demo": None, "upload_error": exc}, status_code)
    wl = await run_in_threadpool(
        lambda: build_worklist(
            wb, model=model, store=store, instruments=instruments, frame=read.frame,
            n_read=read.n_read, bad_rows=read.bad_rows, key_id=session.key_id,
            source=file.filename or "upload", request_id=new_request_id(),
            bad_rows_total=read.bad_rows_total, tips=tip_index(request.app.state),
        )
    )  # fmt: skip
    return RedirectResponse(f"/worklists/{wl.id}", status.HTTP_303_SEE_OTHER)


@router.post("/worklists/demo")
async def demo_day(
    request: Request, session: ScoreSession, form: FormDep, wb: WorkbenchDep, holder: HolderDep,
    store: StoreDep, instruments: InstrumentsDep, settings: SettingsDep,
) -> Response:  # fmt: skip
    """Score one date of the preloaded demo data (reused if already scored)."""
    date = str(form.get("date") or "")
    demo = await run_in_threadpool(wb.demo_data, settings.demo_data)
    if demo is None or demo.lines is None or date not in dict(demo.dates):
        raise PageError(404, "No such date", "Pick a date from the list of demo dates.")
    model = served_model(holder)
    source = f"demo data, {date}"
    tips = tip_index(request.app.state)

    def build() -> Worklist:
        frame = demo.day(date)
        return build_worklist(
            wb, model=model, store=store, instruments=instruments, frame=frame,
            n_read=len(frame), bad_rows=pd.DataFrame(), key_id=session.key_id, source=source,
            request_id=new_request_id(), tips=tips,
        )  # fmt: skip

    wl = await run_in_threadpool(
        wb.worklists.find_or_build, session.key_id, source, model.resolved.uri, build
    )
    return RedirectResponse(f"/worklists/{wl.id}", status.HTTP_303_SEE_OTHER)


def _view_args(request: Request) -> dict[str, Any]:
    q = request.query_params

    def num(name: str, default: int, lo: int, hi: int) -> int:
        try:
            return min(max(int(q.get(name, default)), lo), hi)
        except ValueError:
            return default

    try:  # the exploration share, in percent of the capacity (0 allowed)
        explore = min(max(float(q.get("explore", DEFAULT_EXPLORE * 100)), 0.0), 100.0) / 100
    except ValueError:
        explore = DEFAULT_EXPLORE
    explore = DEFAULT_EXPLORE if math.isnan(explore) else explore
    sort = q.get("sort", "risk")
    return {
        "explore": explore,
        "stratify": "sector" if q.get("stratify") == "sector" else "",
        "filters": Filters(
            port=q.get("port", ""),
            country=q.get("country", ""),
            chapter=q.get("chapter", ""),
            sector=q.get("sector", ""),
            band=q.get("band", ""),
            q=q.get("q", "")[:MAX_SEARCH],
        ),
        "sort": sort if sort in SORT_KEYS else "risk",
        "order": "asc" if q.get("order") == "asc" else "desc",
        "page": num("page", 1, 1, 10**7),
        "size": num("size", 50, 1, max(PAGE_SIZES)),
        "capacity": num("capacity", 50, 0, 10**6),
    }


def _select(wl: Worklist, args: dict[str, Any]) -> tuple[Any, Any]:
    """Filtered+sorted entries with their ``selection`` column, and the capacity figures.

    The seed of the random checks is the worklist's (``seed_of(wl.id)``): the same list,
    capacity and share always draw the same entries. Stratified by sector, the draws are
    spread over the HS chapters.
    """
    filtered = filter_entries(wl.entries, args["filters"])
    strata = "hs_chapter" if args["stratify"] else None
    cap = capacity(filtered, args["capacity"], args["explore"], seed_of(wl.id), strata)
    filtered = filtered.assign(selection=cap.selection)
    ordered = sort_entries(filtered, args["sort"], args["order"] == "desc")
    return ordered, cap


async def _keep(store: Any, wl: Worklist, ordered: Any, cap: Any, args: dict[str, Any],
                key_id: str) -> None:  # fmt: skip
    await run_in_threadpool(
        lambda: keep_picks(store, wl, ordered, cap, request_id=new_request_id(), key_id=key_id,
                           stratify=args["stratify"])
    )  # fmt: skip


def _label(column: str, value: str) -> str:
    """A filter choice as shown: the code and its name (``2704 – Los Angeles, CA``)."""
    name = NAMED[column](value) if column in NAMED else ""
    if len(name) > MAX_NAME:  # an HS chapter's description runs to 150 characters
        name = name[: MAX_NAME - 1].rstrip() + "…"
    return f"{value} – {name}" if name else value


@router.get("/worklists/{wl_id}")
async def worklist(
    request: Request, session: ScoreSession, wl: WorklistDep, wb: WorkbenchDep, store: StoreDep
) -> Response:
    """The ranked worklist: filters, sort, capacity, paging; reasons for the shown page."""
    args = _view_args(request)
    ordered, cap = _select(wl, args)
    await _keep(store, wl, ordered, cap, args, session.key_id)
    page = page_of(ordered, args["page"], args["size"])
    ids = [str(e) for e in page.rows["entry_id"]]
    await run_in_threadpool(ensure_reasons, wl, ids, 3, tip_index(request.app.state))
    statuses = await run_in_threadpool(entry_statuses, store, ids)
    audit_error = await run_in_threadpool(wb.worklists.audit_error, wl)
    rows = [
        {**r, "reason": top_reason(wl, str(r["entry_id"]), int(r["top_line_no"])),
         "status": statuses.get(str(r["entry_id"]), "not examined"),
         "names": {c: name(str(r[c])) for c, name in NAMED.items()}}
        for r in page.rows.to_dict("records")
    ]  # fmt: skip
    params = {k: v for k, v in request.query_params.items() if k != "page"}

    def link(**over: Any) -> str:
        return f"/worklists/{wl.id}?" + urlencode({**params, **over})

    choices = {
        c: [(v, _label(c, v)) for v in options(wl.entries, c)]
        for c in ("port_of_entry", "country_of_origin", "hs_chapter", "sector")
    }
    resp = render(
        request, "worklist.html",
        {"wl": wl, "args": args, "page": page, "rows": rows, "cap": cap,
         "link": link, "choices": choices, "export": f"/worklists/{wl.id}/export.csv?"
         + urlencode(params), "sort_keys": SORT_KEYS, "page_sizes": PAGE_SIZES,
         "bad_rows": report_rows(wl.bad_rows, MAX_REPORT_ROWS),
         "audit_error": audit_error},
    )  # fmt: skip
    resp.background = BackgroundTask(wl.shown.set)  # lets the per-line audit start now
    return resp


@router.get("/worklists/{wl_id}/export.csv")
async def export(
    request: Request, session: ScoreSession, wl: WorklistDep, store: StoreDep
) -> Response:
    """The filtered, sorted worklist as CSV, defused against formula injection."""
    args = _view_args(request)
    ordered, cap = _select(wl, args)
    await _keep(store, wl, ordered, cap, args, session.key_id)

    tips = tip_index(request.app.state)

    def build() -> str:
        within = ordered[ordered["selection"] != ""].head(MAX_EXPORT_REASONS)
        ensure_reasons(wl, [str(e) for e in within["entry_id"]], tips=tips)
        out = ordered.copy()
        out["top_reason"] = [
            (top_reason(wl, str(e), int(n)) or {}).get("text", "") if k else ""
            for e, n, k in zip(out["entry_id"], out["top_line_no"], out["selection"], strict=True)
        ]
        return export_csv(out)

    text = await run_in_threadpool(build)
    await run_in_threadpool(
        audit_event, store, request_id=new_request_id(), key_id=session.key_id,
        action="workbench_export", model=wl.model,
        detail={"worklist": wl.id, "source": wl.source, "rows": len(ordered),
                "filters": vars(args["filters"]), "capacity": cap.n,
                "random_checks": cap.random, "seed": cap.seed},
    )  # fmt: skip
    name = f"worklist-{wl.id[:8]}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
