"""The importer's supplier self-check (``POST /v1/check``), for keys with the ``check`` scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from serving.api.body import upload_body
from serving.api.deps import CheckKey, RequestIdDep
from serving.api.responses import AUTH, BAD_BODY, problem
from serving.deps import SettingsDep
from serving.selfcheck import (
    MAX_FORM_FIELDS,
    CheckRefusedError,
    answer,
    check_records,
    check_upload,
)

router = APIRouter(prefix="/v1", tags=["check"])

_BODY = upload_body(
    "Supplier list, .csv or .parquet",
    application_json={
        "type": "object",
        "required": ["suppliers"],
        "properties": {"suppliers": {"type": "array", "items": {"type": "object"}}},
    },
)


@router.post(
    "/check",
    summary="Check a supplier list against the public forced-labour lists",
    openapi_extra=_BODY,
    responses={
        200: {"description": "Findings per supplier with evidence and guidance; tiers."},
        **AUTH,
        **BAD_BODY,
        413: problem("The body is over the size limit, or the list holds too many rows."),
        415: problem("Not a .csv or .parquet upload."),
        422: problem("No file, not the JSON shape, or a required column missing."),
    },
)
async def check(request: Request, _who: CheckKey, settings: SettingsDep, rid: RequestIdDep) -> Any:
    """Check each supplier, at every tier, against the public forced-labour lists.

    The lists, as in force today: the UFLPA Entity List, CBP WROs and Findings, Xinjiang
    places and the ILAB List of Goods.

    The list is a file (multipart field ``file``: CSV or Parquet with ``supplier_id, name,
    address, country`` and optionally ``hts_code, goods, tier, supplies_to``) or JSON
    (``{"suppliers": [...]}``). Bad rows are reported by row and column and left out; loops
    of ``supplies_to`` are reported. The answer rests on the public lists alone.
    """
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            report = await check_records(await request.body(), settings)
        else:
            form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
            report = await check_upload(form.get("file"), settings)
    except CheckRefusedError as exc:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)
    return JSONResponse(answer(report), headers={"X-Request-ID": rid, "Cache-Control": "no-store"})
