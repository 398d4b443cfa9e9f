"""Scoring uploaded files (``POST /v1/score/file``), and the background jobs of large ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.selection import DEFAULT_EXPLORE
from serving.api.body import upload_body
from serving.api.deps import BatchKey, RequestIdDep
from serving.api.responses import AUTH, BAD_BODY, NO_MODEL, problem
from serving.api.schemas import FileRefused, FileScoreResponse, JobAccepted, JobStatus
from serving.deps import DriftDep, InstrumentsDep, JobsDep, ModelDep, SettingsDep, StoreDep
from serving.jobs import job_id_for
from serving.selection import Asked, entry_sectors, keep, mark
from serving.service import Scored, audit, frame_inputs, rank_entries, score_lines
from serving.tips import tip_index
from serving.uploads import UploadRefusedError, read_upload, report_rows

router = APIRouter(prefix="/v1", tags=["score"])


_FILE_BODY = upload_body(
    "Entry lines, .csv or .parquet",
    {
        "reasons": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
        "explain_share": {"type": "number", "minimum": 0, "maximum": 1, "default": 1.0,
                          "description": "Share of lines, riskiest first, that get reasons"},
        "select": {"type": "integer", "minimum": 0, "default": 0,
                   "description": "Entries to examine: each entry gets `selection` "
                   "(0: no selection)"},
        "explore": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05,
                    "description": "Share of `select` drawn at random from the entries "
                    "outside the riskiest (random checks)"},
        "stratify": {"type": "string", "enum": ["", "sector"], "default": "",
                     "description": "`sector`: spread the random checks over HS chapters"},
    },
)  # fmt: skip


def _form_number(form: Any, name: str, default: float, lo: float, hi: float) -> float:
    raw = form.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = float("nan")
    if not lo <= value <= hi:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"'{name}' must be in [{lo}, {hi}]"
        )
    return value


@router.post(
    "/score/file",
    summary="Score an uploaded file of entry lines",
    openapi_extra=_FILE_BODY,
    responses={
        200: {"model": FileScoreResponse, "description": "Entries ranked by their riskiest line."},
        202: {"model": JobAccepted, "description": "Large file: scored in the background."},
        **AUTH,
        **BAD_BODY,
        413: problem(
            "The body is over the size limit, or the file holds more than an upload may: "
            "rows, columns, Parquet row groups or text (`detail` names the limit)."
        ),
        415: problem("Not a .csv or .parquet upload."),
        422: {
            "model": FileRefused,
            "description": "The file cannot be scored: unreadable, a required column missing, "
            "or no row that can be scored (then `bad_rows` says which rows and why); or an "
            "invalid form field.",
        },
        **NO_MODEL,
    },
)
async def score_file(
    request: Request,
    who: BatchKey,
    model: ModelDep,
    store: StoreDep,
    instruments: InstrumentsDep,
    jobs: JobsDep,
    settings: SettingsDep,
    rid: RequestIdDep,
    drift: DriftDep,
) -> Any:
    """Score a day's lines from a CSV or Parquet file (multipart field ``file``).

    Bad rows are reported (row, column, value, reason) and the good ones scored. Files with
    more good lines than ``sync_file_lines`` are scored in the background: the answer is
    ``202`` with a job id to poll at ``GET /v1/jobs/{job_id}``. With ``select``, the entries
    to examine are marked: the riskiest, and ``explore`` of them drawn at random from the
    rest (``selection: random_check``; seeded by the request's or job's id).
    """
    # The form is parsed only now, after the key was checked: unauthenticated callers
    # cannot make the server spool an upload.
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="field 'file' is required"
        )
    reasons = int(_form_number(form, "reasons", 3, 0, 10))
    share = _form_number(form, "explain_share", 1.0, 0.0, 1.0)
    stratify = str(form.get("stratify") or "")
    if stratify not in ("", "sector"):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="'stratify' must be '' or 'sector'"
        )
    asked = Asked(
        select=int(_form_number(form, "select", 0, 0, 10**7)),
        explore=_form_number(form, "explore", DEFAULT_EXPLORE, 0.0, 1.0),
        stratify=stratify,
    )
    try:
        read = await run_in_threadpool(read_upload, upload, settings)
    except UploadRefusedError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    file_sha256 = read.sha256
    header = {
        "n_read": read.n_read,
        "bad_rows": report_rows(read.bad_rows),
        "bad_rows_total": read.bad_rows_total,
    }
    if len(read.lines) > settings.sync_file_lines:
        job_id = job_id_for(file_sha256, who.key_id, model.bundle_hash, reasons, share, asked)
        meta = jobs.submit(
            job_id=job_id, key_id=who.key_id, model=model, store=store, instruments=instruments,
            drift=drift, frame=read.frame, reasons=reasons, explain_share=share, header=header,
            asked=asked,
        )  # fmt: skip
        location = f"/v1/jobs/{job_id}"
        body = {**header, "job_id": job_id, "status": meta["status"],
                "n_lines": len(read.lines), "location": location}  # fmt: skip
        return JSONResponse(
            JobAccepted(**body).model_dump(), status_code=202, headers={"Location": location}
        )

    def score_file_lines() -> tuple[Scored, list[dict[str, Any]], dict[str, Any] | None]:
        scored = score_lines(
            model=model, lines=read.lines, inputs=frame_inputs(read.frame), reasons=reasons,
            request_id=rid, key_id=who.key_id, action="score_file", explain_share=share,
            tips=tip_index(request.app.state),
        )  # fmt: skip
        audit(store, instruments, scored, drift=drift)  # raises (503) before any score is returned
        entries = rank_entries(scored.results)
        sectors = entry_sectors(read.frame) if asked.stratify else None
        chosen = mark(entries, asked, rid, sectors)
        keep(store, entries, chosen, rid, who.key_id)
        return scored, entries, chosen

    done, entries, chosen = await run_in_threadpool(score_file_lines)
    return FileScoreResponse.model_validate(
        {"request_id": rid, "model": model.info(done.reference_versions),
         "n_scored": len(done.results), "entries": entries, "selection": chosen, **header}
    )  # fmt: skip


@router.get(
    "/jobs/{job_id}",
    response_model=JobStatus,
    summary="A background scoring job",
    responses={
        200: {"description": "The job; `result` holds the ranked entries once done."},
        **AUTH,
        404: problem("No such job (or it belongs to another key)."),
        422: problem("Invalid paging parameters."),
    },
)
def get_job(
    job_id: str,
    who: BatchKey,
    jobs: JobsDep,
    offset: Annotated[int, Query(ge=0, description="Entries to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Entries to return")] = 1000,
) -> dict[str, Any]:
    """Status of a job; when done, its ranked entries (paged by ``offset``/``limit``)."""
    meta = jobs.status(job_id)
    # Another key's job is reported as absent: job ids must not leak other users' work.
    if meta is None or (meta["key_id"] != who.key_id and "admin" not in who.scopes):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    out = {k: meta.get(k) for k in ("job_id", "status", "created", "finished", "n_lines", "error")}
    if meta["status"] == "done":
        entries, _total = jobs.result(job_id, offset, limit)
        out["result"] = {
            "request_id": job_id, "model": meta["model"], "n_read": meta["n_read"],
            "n_scored": meta["n_lines"], "entries": entries, "bad_rows": meta["bad_rows"],
            "bad_rows_total": meta["bad_rows_total"], "selection": meta.get("selection"),
        }  # fmt: skip
    return out
