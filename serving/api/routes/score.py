"""Scoring: JSON lines, uploaded files, and background jobs for large files."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.contract.columns import ContractError
from models.contract.reader import ReadResult, read_entry_lines
from serving.deps import (
    BatchKey,
    JobsDep,
    MetricsDep,
    ModelDep,
    RequestIdDep,
    ScoreKey,
    ScoringDep,
    SettingsDep,
    StoreDep,
    new_request_id,
)
from serving.jobs import job_id_for
from serving.responses import AUTH, BAD_BODY, INVALID, NO_MODEL, TOO_LARGE, _r
from serving.schemas import (
    FileScoreResponse,
    JobAccepted,
    JobStatus,
    ScoreRequest,
    ScoreResponse,
)
from serving.service import (
    Scored,
    audit,
    bad_rows_list,
    frame_inputs,
    rank_entries,
    score_lines,
    shadow_score,
    validate_lines,
)

router = APIRouter(prefix="/v1", tags=["score"])
SUFFIXES = {".csv": ".csv", ".txt": ".csv", ".parquet": ".parquet", ".pq": ".parquet"}
CONTENT_TYPES = {"text/csv": ".csv", "application/vnd.apache.parquet": ".parquet"}
INLINE_LINES = 16  # requests of up to this many lines are scored on the event loop


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Score entry lines",
    responses={
        200: {"description": "Scores in request order, each line audited."},
        **AUTH,
        **BAD_BODY,
        **TOO_LARGE,
        **INVALID,
        **NO_MODEL,
    },
)
async def score(body: ScoreRequest, who: ScoreKey, ctx: ScoringDep) -> JSONResponse:
    """Score 1 to 1000 lines with the served model; explain each with up to 10 reasons.

    Fields the model does not know are refused (422), except pass-through features the
    model declares. Every line is written to the audit log before the answer is sent.
    """
    rid = new_request_id()
    model = ctx.model
    inputs = [line.model_dump(exclude_none=True) for line in body.lines]

    def work(wait: bool) -> tuple[ReadResult, Scored, bool]:
        read = validate_lines(inputs, model.scorer.bundle.state.passthrough)
        scored = score_lines(
            model=model, frame=None if read.arrays is not None else read.frame,
            arrays=read.arrays, inputs=inputs, reasons=body.reasons, request_id=rid,
            key_id=who.key_id, action="score",
        )  # fmt: skip
        return read, scored, audit(ctx.store, ctx.metrics, scored, wait=wait)

    if len(inputs) <= INLINE_LINES:
        # A few lines take ~2 ms: scored on the event loop, as the thread pool's hand-off
        # and wake-up cost a large share of that. An audit write that would wait for
        # another writer goes to the pool, leaving the loop free.
        read, scored, written = work(wait=False)
        if not written:
            await run_in_threadpool(audit, ctx.store, ctx.metrics, scored)
    else:
        read, scored, _ = await run_in_threadpool(work, True)
    shadow = None
    if ctx.holder.shadow is not None:  # after the response is sent
        shadow = BackgroundTask(shadow_score, ctx.holder, read, rid, ctx.metrics)
    payload = {"request_id": rid, "model": model.info(), "results": scored.results}
    # The payload is built from plain values (tested against ScoreResponse): validating it
    # again on the way out would cost more than the audit write.
    return JSONResponse(payload, headers={"X-Request-ID": rid}, background=shadow)


def _suffix(upload: UploadFile) -> str:
    name = (upload.filename or "").lower()
    for ext, kind in SUFFIXES.items():
        if name.endswith(ext):
            return kind
    ctype = (upload.content_type or "").split(";")[0].strip().lower()
    if ctype in CONTENT_TYPES:
        return CONTENT_TYPES[ctype]
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, detail="upload a .csv or .parquet file"
    )


def _read_upload(upload: UploadFile, data_dir: Path) -> tuple[ReadResult, str]:
    """Copy the upload to a private temp folder, read it with the contract reader.

    Returns:
        The read result and the SHA-256 of the uploaded bytes (a job's identity).
    """
    suffix = _suffix(upload)
    digest = hashlib.sha256()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=data_dir, prefix="upload-") as tmp:
            path = Path(tmp) / f"lines{suffix}"
            with path.open("wb") as out:
                while block := upload.file.read(1 << 20):
                    digest.update(block)
                    out.write(block)
            try:
                read = read_entry_lines(
                    path, allow_bad_rows=True, quarantine_path=Path(tmp) / "quarantine.csv"
                )
            except ContractError as exc:
                if isinstance(exc.__cause__, OSError):  # the quarantine could not be written
                    raise HTTPException(
                        status.HTTP_503_SERVICE_UNAVAILABLE,
                        detail="cannot write the quarantine record of the bad rows "
                        f"({type(exc.__cause__).__name__}); nothing was scored",
                    ) from exc
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    except OSError as exc:  # disk full, data folder not writable: say so, score nothing
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"cannot store the upload ({type(exc).__name__}); nothing was scored",
        ) from exc
    return read, digest.hexdigest()


_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary",
                                 "description": "Entry lines, .csv or .parquet"},
                        "reasons": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3},
                        "explain_share": {"type": "number", "minimum": 0, "maximum": 1,
                                          "default": 1.0,
                                          "description": "Share of lines, riskiest first, "
                                          "that get reasons"},
                    },
                }
            }
        },
    }
}  # fmt: skip


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
        **TOO_LARGE,
        415: _r("Not a .csv or .parquet upload."),
        **INVALID,
        **NO_MODEL,
    },
)
async def score_file(
    request: Request,
    who: BatchKey,
    model: ModelDep,
    store: StoreDep,
    metrics: MetricsDep,
    jobs: JobsDep,
    settings: SettingsDep,
    rid: RequestIdDep,
) -> Any:
    """Score a day's lines from a CSV or Parquet file (multipart field ``file``).

    Bad rows are reported (row, column, value, reason) and the good ones scored. Files with
    more good lines than ``sync_file_lines`` are scored in the background: the answer is
    ``202`` with a job id to poll at ``GET /v1/jobs/{job_id}``.
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
    read, file_sha256 = await run_in_threadpool(_read_upload, upload, settings.data_dir)
    header = {
        "n_read": read.n_read,
        "bad_rows": bad_rows_list(read.bad_rows),
        "bad_rows_total": len(read.bad_rows),
    }
    if len(read.frame) > settings.sync_file_lines:
        job_id = job_id_for(file_sha256, who.key_id, model.bundle_hash, reasons, share)
        meta = jobs.submit(
            job_id=job_id, key_id=who.key_id, model=model, store=store, metrics=metrics,
            frame=read.frame, reasons=reasons, explain_share=share, header=header,
        )  # fmt: skip
        location = f"/v1/jobs/{job_id}"
        body = {**header, "job_id": job_id, "status": meta["status"],
                "n_lines": len(read.frame), "location": location}  # fmt: skip
        return JSONResponse(
            JobAccepted(**body).model_dump(), status_code=202, headers={"Location": location}
        )

    def score_file_lines() -> list[dict[str, Any]]:
        scored = score_lines(
            model=model, frame=read.frame, inputs=frame_inputs(read.frame), reasons=reasons,
            request_id=rid, key_id=who.key_id, action="score_file", explain_share=share,
        )  # fmt: skip
        audit(store, metrics, scored)  # raises (503) before any score is returned
        return scored.results

    lines = await run_in_threadpool(score_file_lines)
    return FileScoreResponse.model_validate(
        {"request_id": rid, "model": model.info(), "n_scored": len(lines),
         "entries": rank_entries(lines), **header}
    )  # fmt: skip


@router.get(
    "/jobs/{job_id}",
    response_model=JobStatus,
    summary="A background scoring job",
    responses={
        200: {"description": "The job; `result` holds the ranked entries once done."},
        **AUTH,
        404: _r("No such job (or it belongs to another key)."),
        422: _r("Invalid paging parameters."),
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
            "bad_rows_total": meta["bad_rows_total"],
        }  # fmt: skip
    return out
