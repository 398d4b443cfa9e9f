"""Scoring entry lines sent as JSON (``POST /v1/score``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool

from models.contract.reader import ReadResult
from models.json_text import compact
from serving.api.body import body_schema
from serving.api.deps import KEY_SECURITY, caller, scoring_of
from serving.api.lines_body import score_lines_body
from serving.api.responses import AUTH, BAD_BODY, INVALID, NO_MODEL, TOO_LARGE
from serving.api.schemas import ScoreRequest, ScoreResponse
from serving.deps import new_request_id
from serving.drift import DriftMonitor
from serving.service import (
    Scored,
    audit,
    observe_drift,
    score_lines,
    shadow_score,
    validate_request,
)

router = APIRouter(prefix="/v1", tags=["score"])
INLINE_LINES = 16  # requests of up to this many lines are scored on the event loop


async def _observe_on_loop(drift: DriftMonitor, scored: Scored) -> None:
    """:func:`observe_drift` as a coroutine, so that Starlette runs it on the event loop."""
    observe_drift(drift, scored)


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Score entry lines",
    # The key is checked by the route itself (serving.api.deps.caller): documented here.
    openapi_extra={**body_schema(ScoreRequest), "security": KEY_SECURITY},
    responses={
        200: {"description": "Scores in request order, each line audited."},
        **AUTH,
        **BAD_BODY,
        **TOO_LARGE,
        **INVALID,
        **NO_MODEL,
    },
)
async def score(request: Request) -> Response:
    """Score 1 to 1000 lines with the served model; explain each with up to 10 reasons.

    Fields the model does not know are refused (422), except pass-through features the
    model declares. Every line is written to the audit log before the answer is sent.
    """
    # The key, its scope and rate, then the model, as the dependencies ScoreKey and
    # ScoringDep would give them, without FastAPI's cost per dependency.
    who = caller(request, "score")
    ctx = scoring_of(request)
    # The body (a ScoreRequest) is read only now, once the key is known, and parsed off the
    # event loop when large (serving.api.body).
    body = await score_lines_body(request)
    rid = new_request_id()
    model = ctx.model
    inputs = body.inputs

    def work(wait: bool) -> tuple[ReadResult, Scored, bool]:
        read = validate_request(inputs, model.scorer.bundle.state.passthrough, body.columns)
        scored = score_lines(
            model=model, lines=read.lines, inputs=inputs, reasons=body.reasons,
            request_id=rid, key_id=who.key_id, action="score", tips=ctx.tips.index(),
        )  # fmt: skip
        return read, scored, audit(ctx.store, ctx.instruments, scored, wait=wait)

    if len(inputs) <= INLINE_LINES:
        # A few lines take a few milliseconds: scored on the event loop, as the pool's hand-off
        # and wake-up cost a large share of that. An audit write that would wait for
        # another writer goes to the pool, leaving the loop free.
        read, scored, written = work(wait=False)
        if not written:
            await run_in_threadpool(audit, ctx.store, ctx.instruments, scored)
    else:
        read, scored, _ = await run_in_threadpool(work, True)
    # After the response is sent: the lines' drift bins, then the shadow model's scores.
    after = BackgroundTasks()
    if len(inputs) <= INLINE_LINES:
        # A few lines' bins take microseconds: on the loop, as a hand-off to the thread pool
        # (a wake-up of a worker thread and a switch of the GIL) costs more than the work.
        after.add_task(_observe_on_loop, ctx.drift, scored)
    else:
        after.add_task(observe_drift, ctx.drift, scored)
    if ctx.holder.shadow is not None:
        after.add_task(shadow_score, ctx.holder, read, scored, ctx.instruments, ctx.shadows)
    payload = {
        "request_id": rid,
        "model": model.info(scored.reference_versions),
        "results": scored.results,
    }
    # The payload is built from plain values (tested against ScoreResponse) and encoded once
    # by orjson: validating it again on the way out, or json's encoder, would cost more than
    # the audit write.
    return Response(
        compact(payload), media_type=JSONResponse.media_type,
        headers={"X-Request-ID": rid}, background=after,
    )  # fmt: skip
