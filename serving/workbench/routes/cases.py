"""Cases in the workbench: open one from an entry, the case list, a case and its changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.cases import (
    NEXT,
    STATUSES,
    CaseError,
    UnknownCaseError,
    add_document,
    get_case,
    open_case,
    update_case,
)
from models.documents import DocumentError
from models.store import CaseStore
from serving.cases import read_document
from serving.deps import StoreDep, new_request_id
from serving.service import decision_ids
from serving.workbench.deps import CasesSession, FormDep, WorkbenchDep
from serving.workbench.pages import PageError, render

router = APIRouter(include_in_schema=False)


def _date(form: Any) -> str | None:
    raw = str(form.get("date") or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError as exc:
        raise PageError(422, "Case not changed", f"date: {raw!r} is not a date") from exc


def _tip_ids(form: Any) -> list[int]:
    raw = str(form.get("tip_ids") or "").replace("#", " ").replace(",", " ").split()
    if not all(t.isdigit() for t in raw):
        raise PageError(422, "Case not opened", "Tips: give tip numbers, e.g. 12, 15.")
    return [int(t) for t in raw]


@router.post("/cases")
async def open_from_entry(
    session: CasesSession, form: FormDep, wb: WorkbenchDep, store: StoreDep
) -> Response:
    """Open a case on an entry of a worklist (all its lines, or one), on its audited scores."""
    wl = wb.worklists.get(str(form.get("wl_id") or ""))
    if wl is None or (wl.key_id != session.key_id and "admin" not in session.scopes):
        raise PageError(404, "Worklist not found", "It expired or was never created: upload again.")
    entry_id = str(form.get("entry_id") or "")
    sub = wl.entry_lines(entry_id)
    line_no = str(form.get("line_no") or "")
    if line_no:
        sub = sub[sub["line_no"].astype(str) == line_no]
    if sub.empty:
        raise PageError(404, "Entry not found", f"No entry {entry_id} (line {line_no or 'any'}).")
    if wl.audit is not None:
        # A case names the lines' audited decisions: make sure the scoring rows are written.
        await run_in_threadpool(wl.audit.result, 120)
    lines = [{"entry_id": entry_id, "line_no": int(n), "decision_id": d}
             for n, d in zip(sub["line_no"], decision_ids(sub), strict=True)]  # fmt: skip
    case = {"lines": lines, "tip_ids": _tip_ids(form), "date": _date(form),
            "note": str(form.get("note") or "") or None, "title": f"Entry {entry_id}"}  # fmt: skip
    try:
        saved = await run_in_threadpool(
            open_case, store, case, key_id=session.key_id, request_id=new_request_id()
        )
    except CaseError as exc:
        raise PageError(422, "Case not opened", str(exc)) from exc
    return RedirectResponse(f"/cases/{saved['id']}", status.HTTP_303_SEE_OTHER)


@router.get("/cases")
async def case_list(request: Request, session: CasesSession, store: StoreDep) -> Response:
    """Cases, most recently changed first, by status (``?status=``; all by default)."""
    wanted = request.query_params.get("status", "")
    shown = wanted if wanted in STATUSES else None
    cases = await run_in_threadpool(CaseStore(store).recent, shown, 500)
    return render(
        request, "cases.html", {"cases": cases, "status": shown or "all", "statuses": STATUSES}
    )


@router.get("/cases/{case_id}")
async def case_page(
    request: Request, case_id: int, session: CasesSession, store: StoreDep
) -> Response:
    """A case: status and dates, lines, tips, documents, the trail, and the forms to change it."""
    try:
        case = await run_in_threadpool(get_case, store, case_id)
    except UnknownCaseError as exc:
        raise PageError(404, "Case not found", str(exc)) from exc
    return render(
        request, "case.html",
        {"case": case, "next": NEXT.get(case["status"], ()),
         "saved": request.query_params.get("saved"), "today": dt.date.today().isoformat()},
    )  # fmt: skip


@router.post("/cases/{case_id}/change")
async def change(case_id: int, session: CasesSession, form: FormDep, store: StoreDep) -> Response:
    """Change a case's status (with its date), owner or add a note, as ``PATCH /v1/cases``."""
    tips = _tip_ids(form)
    delta = {"status": str(form.get("status") or "") or None, "date": _date(form),
             "owner": str(form.get("owner") or "").strip() or None,
             "note": str(form.get("note") or "").strip() or None, "tip_ids": tips}  # fmt: skip
    try:
        await run_in_threadpool(
            update_case, store, case_id, delta, key_id=session.key_id,
            request_id=new_request_id(), source="workbench",
        )  # fmt: skip
    except UnknownCaseError as exc:
        raise PageError(404, "Case not found", str(exc)) from exc
    except CaseError as exc:
        raise PageError(422, "Case not changed", str(exc)) from exc
    return RedirectResponse(f"/cases/{case_id}?saved=1", status.HTTP_303_SEE_OTHER)


@router.post("/cases/{case_id}/documents")
async def attach(case_id: int, session: CasesSession, form: FormDep, store: StoreDep) -> Response:
    """Attach a document (PDF, PNG, JPEG, text, CSV; told by content) to a case."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise PageError(422, "No document", "Choose a file to attach.")
    try:
        name, content, media = await read_document(upload)
        await run_in_threadpool(
            add_document, store, case_id, name, content, media, key_id=session.key_id,
            request_id=new_request_id(),
        )  # fmt: skip
    except UnknownCaseError as exc:
        raise PageError(404, "Case not found", str(exc)) from exc
    except DocumentError as exc:
        raise PageError(422, "Document not attached", str(exc)) from exc
    return RedirectResponse(f"/cases/{case_id}?saved=1#documents", status.HTTP_303_SEE_OTHER)


@router.get("/cases/{case_id}/documents/{doc_id}")
async def download(case_id: int, doc_id: int, session: CasesSession, store: StoreDep) -> Response:
    """A case's document, as attached (``attachment``: never shown inline)."""
    doc = await run_in_threadpool(CaseStore(store).document, case_id, doc_id)
    if doc is None:
        raise PageError(404, "Document not found", f"No document {doc_id} in case {case_id}.")
    return Response(
        doc["content"], media_type=doc["media_type"],
        headers={"Content-Disposition": f'attachment; filename="{doc["name"]}"'},
    )  # fmt: skip
