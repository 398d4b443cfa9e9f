"""Cases: open one on scored lines, follow it to its outcome, attach its documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.cases import CaseError, UnknownCaseError, add_document, get_case, open_case, update_case
from models.documents import DocumentError
from models.store import CaseStore
from serving.api.body import upload_body
from serving.api.deps import CasesKey, RequestIdDep, RowId
from serving.api.responses import AUTH, BAD_BODY, INVALID, TOO_LARGE, Responses, problem
from serving.cases import CaseChange, CaseIn, CaseStatus, read_document
from serving.deps import StoreDep

router = APIRouter(prefix="/v1", tags=["cases"])
NOT_FOUND: Responses = {404: problem("No case (or no such document of the case).")}
UNAVAILABLE: Responses = {503: problem("The store is unavailable: nothing was stored.")}


_DOCUMENT_BODY = upload_body("PDF, PNG, JPEG, text or CSV; at most 5 MB")


def _invalid(exc: Exception) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": str(exc)}])


def _not_found(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc))


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    summary="Open a case",
    responses={**AUTH, **BAD_BODY, **TOO_LARGE, **INVALID, **UNAVAILABLE},
)
async def post_case(case: CaseIn, who: CasesKey, store: StoreDep, rid: RequestIdDep) -> Any:
    """Open a case (status ``detained``) on scored lines, with linked tips.

    Each line is tied to a scored decision: the ``decision_id`` given (checked), else the
    line's latest audited scoring. A line never scored is refused (422).
    """
    try:
        return await run_in_threadpool(
            open_case, store, case.model_dump(mode="json"), key_id=who.key_id, request_id=rid
        )
    except CaseError as exc:
        raise _invalid(exc) from exc


@router.get("/cases", summary="List cases", responses={**AUTH, **UNAVAILABLE})
async def list_cases(
    _who: CasesKey,
    store: StoreDep,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Any:
    """Cases, most recently changed first, optionally of one status."""
    return {"cases": await run_in_threadpool(CaseStore(store).recent, status_, limit)}


@router.get("/cases/{case_id}", summary="One case", responses={**AUTH, **NOT_FOUND})
async def one_case(case_id: RowId, _who: CasesKey, store: StoreDep) -> Any:
    """A case: status, dates, owner, lines, tips, documents and its trail.

    The trail lists every change (who, when, what) with the hash of its audit row.
    """
    try:
        return await run_in_threadpool(get_case, store, case_id)
    except UnknownCaseError as exc:
        raise _not_found(exc) from exc


@router.patch(
    "/cases/{case_id}",
    summary="Change a case",
    responses={**AUTH, **NOT_FOUND, **BAD_BODY, **INVALID, **UNAVAILABLE},
)
async def patch_case(
    case_id: RowId, change: CaseChange, who: CasesKey, store: StoreDep, rid: RequestIdDep
) -> Any:
    """Move the status (with its date), change the owner, add a note, tips or lines.

    ``detained`` -> ``admissibility_review`` -> ``released`` | ``excluded`` |
    ``re_exported``. Closing writes the outcome as each line's inspection outcome, as
    ``POST /v1/feedback`` would (``excluded``, ``re_exported``: violation 1; ``released``: 0).
    """
    try:
        return await run_in_threadpool(
            update_case, store, case_id, change.model_dump(mode="json"), key_id=who.key_id,
            request_id=rid, source="api",
        )  # fmt: skip
    except UnknownCaseError as exc:
        raise _not_found(exc) from exc
    except CaseError as exc:
        raise _invalid(exc) from exc


@router.post(
    "/cases/{case_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Attach a document",
    openapi_extra=_DOCUMENT_BODY,
    responses={**AUTH, **NOT_FOUND, **BAD_BODY, **TOO_LARGE, **INVALID, **UNAVAILABLE},
)
async def post_document(
    case_id: RowId, request: Request, who: CasesKey, store: StoreDep, rid: RequestIdDep
) -> Any:
    """Attach a PDF, PNG, JPEG, text or CSV file (multipart field ``file``, at most 5 MB).

    The type is told by the content, not the name; the document is stored with its SHA-256
    and size.
    """
    form = await request.form(max_files=1, max_fields=2)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="field 'file' is required"
        )
    try:
        name, content, media = await read_document(upload)
        return await run_in_threadpool(
            add_document, store, case_id, name, content, media, key_id=who.key_id, request_id=rid
        )
    except UnknownCaseError as exc:
        raise _not_found(exc) from exc
    except DocumentError as exc:
        raise _invalid(exc) from exc


@router.get(
    "/cases/{case_id}/documents/{doc_id}",
    summary="Download a document",
    response_class=Response,
    responses={**AUTH, **NOT_FOUND},
)
async def get_document(case_id: RowId, doc_id: RowId, _who: CasesKey, store: StoreDep) -> Response:
    """The document's bytes, with its media type and SHA-256 (``X-Content-SHA256``)."""
    doc = await run_in_threadpool(CaseStore(store).document, case_id, doc_id)
    if doc is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no document {doc_id} in case {case_id}"
        )
    return Response(
        doc["content"],
        media_type=doc["media_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{doc["name"]}"',
            "X-Content-SHA256": doc["sha256"],
        },
    )
