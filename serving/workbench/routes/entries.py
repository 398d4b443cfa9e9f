"""One entry of a worklist: every line explained, and the officer's inspection outcome."""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from models.cases import cases_of_entry
from models.feedback import OUTCOMES, UnknownDecisionError
from models.scoring.bundle import Calibration
from serving.deps import StoreDep, new_request_id
from serving.feedback import FeedbackIn, store_feedback
from serving.service import decision_ids
from serving.tips import tip_index
from serving.workbench.charts import highlight, steps_for, value_range_svg, waterfall_svg
from serving.workbench.deps import (
    FeedbackSession,
    FormDep,
    ScoreSession,
    WorkbenchDep,
    WorklistDep,
)
from serving.workbench.exploration import picked_entries
from serving.workbench.pages import PageError, render
from serving.workbench.scoring import audit_event, audit_view, explain_entry
from serving.workbench.state import DONE, PENDING, WorkbenchState, Worklist

router = APIRouter(include_in_schema=False)
AUDIT_WAIT_S = 120.0  # how long an outcome waits for its worklist's per-line audit
AUDIT_POLL_S = 0.5


def wait_audited(wb: WorkbenchState, wl: Worklist, timeout: float = AUDIT_WAIT_S) -> str:
    """The worklist's audit state once it is no longer pending (or after ``timeout``)."""
    if wl.audit is not None:  # scored in this process: wait for its own audit thread
        with contextlib.suppress(Exception):  # its failure is read back just below
            wl.audit.result(timeout)
        return wb.worklists.audit_state(wl)
    deadline = time.monotonic() + timeout
    state = wb.worklists.audit_state(wl)
    while state == PENDING and time.monotonic() < deadline:
        time.sleep(AUDIT_POLL_S)
        state = wb.worklists.audit_state(wl)
    return state


def _illustrate(line: dict[str, Any], cal: Calibration) -> None:
    """Add a line's waterfall, evidence by reason, highlighted addresses, value chart."""
    # Tips are listed apart, above the evidence; what the model weighs them at (a model
    # trained with tips) is one "tip" bar, so the bars still add up to the score.
    line["tips"] = [r for r in line["reasons"] if r["code"] == "tip"]
    weighed = [r for r in line["reasons"] if r["code"] != "tip"]
    tip_weight = sum(float(r["contribution"]) for r in line["tips"])
    bars = [*weighed, {"code": "tip", "contribution": tip_weight}] if tip_weight else weighed
    line["chart"] = waterfall_svg(
        line["base"], steps_for(bars, line["rest"]), cal.a, cal.b,
        f"How the evidence moves line {line['line_no']} from the baseline to its score",
    )  # fmt: skip
    line["evidence"] = {r["code"]: r for r in line["reasons"]}
    # A presumption carries the evidence of the reason it folds in (the list match, the
    # Xinjiang place): the evidence panels show it where they show that reason's.
    for r in line["reasons"]:
        if r["direction"] == "presumes":
            code = "xinjiang_address" if r["evidence"]["basis"] == "xinjiang" else "listed_entity"
            line["evidence"].setdefault(code, r)
    line["presumes"] = [r for r in weighed if r["direction"] == "presumes"]
    line["notes"] = [r for r in weighed if r["direction"] == "note"]
    line["raises"] = [r for r in weighed if r["direction"] == "raises"]
    line["lowers"] = [r for r in weighed if r["direction"] == "lowers"]
    xj = line["evidence"].get("xinjiang_address", {}).get("evidence", {})
    terms = list(xj.get("terms", []))
    line["mfr_address"] = highlight(line["line"].get("manufacturer_address"), terms)
    line["shp_address"] = highlight(line["line"].get("shipper_address"), terms)
    uv = line["evidence"].get("unit_value", {}).get("evidence", {})
    known = uv.get("unit_value_usd") is not None and uv.get("typical_usd") is not None
    line["value_chart"] = (
        value_range_svg(float(uv["unit_value_usd"]), float(uv["typical_usd"])) if known else ""
    )


@router.get("/worklists/{wl_id}/entries/{entry_id:path}")
async def entry(
    request: Request, entry_id: str, session: ScoreSession, wl: WorklistDep, store: StoreDep
) -> Response:
    """Every line of an entry: score, waterfall, evidence, the outcome form."""
    lines = await run_in_threadpool(explain_entry, wl, entry_id, tip_index(request.app.state))
    if not lines:
        raise PageError(404, "Entry not found", f"No entry {entry_id} in this worklist.")
    for line in lines:
        _illustrate(line, wl.model.scorer.bundle.calibration)
    rid = new_request_id()
    await run_in_threadpool(audit_view, store, wl, lines, rid, session.key_id)
    outcomes = await run_in_threadpool(store.feedback_for, entry_id)
    cases = await run_in_threadpool(cases_of_entry, store, entry_id)
    random_check = entry_id in await run_in_threadpool(picked_entries, store, wl)
    return render(
        request, "entry.html",
        {"wl": wl, "entry_id": entry_id, "lines": lines, "outcomes": outcomes,
         "saved": request.query_params.get("saved"), "choices": list(OUTCOMES),
         "cases": cases, "can_open_case": "cases" in session.scopes,
         "random_check": random_check},
    )  # fmt: skip


@router.post("/worklists/{wl_id}/outcome")
async def outcome(
    session: FeedbackSession, form: FormDep, wl: WorklistDep, store: StoreDep, wb: WorkbenchDep
) -> Response:
    """Record an inspection result through the same path as ``POST /v1/feedback``.

    A line of an entry the worklist drew for a random check is stored as a random
    inspection whatever the form says: the store knows the draw (``ExplorationPicks``).
    """
    entry_id = str(form.get("entry_id") or "")
    choice = str(form.get("outcome") or "")
    if choice not in OUTCOMES:
        raise PageError(422, "Choose an outcome", f"Pick one of: {', '.join(OUTCOMES)}.")
    sub = wl.entry_lines(entry_id)
    if sub.empty:
        raise PageError(404, "Entry not found", f"No entry {entry_id} in this worklist.")
    line_no = str(form.get("line_no") or "")
    judged = sub[sub["line_no"].astype(str) == line_no] if line_no.isdigit() else sub.iloc[:0]
    if judged.empty:
        raise PageError(404, "Line not found", f"Entry {entry_id} has no line {line_no}.")
    try:
        # The officer judges the line as this worklist holds it: its audited decision.
        item = FeedbackIn(
            entry_id=entry_id, line_no=int(line_no), decision_id=decision_ids(judged)[0],
            inspected=True,
            inspection_reason=str(form.get("inspection_reason") or "targeted"),  # type: ignore[arg-type]
            violation=OUTCOMES[choice], outcome=choice,  # type: ignore[arg-type]
            note=str(form.get("note") or "") or None,
        )  # fmt: skip
    except (ValidationError, ValueError) as exc:
        raise PageError(422, "Outcome not recorded", f"The form was incomplete: {exc}") from exc
    # Feedback names the line's audited decision: make sure the scoring rows are written
    # (by this process's audit thread, or by the worker that scored the worklist).
    state = await run_in_threadpool(wait_audited, wb, wl)
    if state != DONE:
        raise PageError(
            409, "Outcome not recorded",
            "This worklist's scores are not in the audit log yet" if state == PENDING else
            f"This worklist's scores could not be audited ({state}): upload the file again.",
        )  # fmt: skip
    rid = new_request_id()
    try:
        saved = await run_in_threadpool(
            store_feedback, store, item, session.key_id, rid, "workbench"
        )
    except UnknownDecisionError as exc:
        raise PageError(409, "Outcome not recorded", "This line's score was not audited.") from exc
    await run_in_threadpool(
        audit_event, store, request_id=rid, key_id=session.key_id, action="workbench_outcome",
        detail={"entry_id": entry_id, "line_no": item.line_no, "outcome": choice,
                "feedback_id": saved["feedback_id"], "line_status": saved["line_status"]},
    )  # fmt: skip
    url = f"/worklists/{wl.id}/entries/{quote(entry_id, safe='')}?saved={item.line_no}#outcomes"
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER)
