"""Scoring for the workbench: rank a whole day cheaply, explain only what an officer sees.

A day is scored once without reasons (SHAP costs ~100x a prediction); reasons are computed
per page and per opened entry, always over *all* lines of the entries concerned, because
some features (e.g. lines per entry) depend on the entry, and a line must get the same score
on the worklist, in its detail view and from the API.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd

from models.audit_rows import AuditRows
from models.contract.batch import Lines
from models.scoring.tip_reasons import TipIndex
from models.store import AuditStore, AuditUnavailableError
from serving.drift import DriftMonitor
from serving.instruments import Instruments
from serving.model_holder import LoadedModel
from serving.service import decision_ids, frame_inputs, plain, results, unknown_fields
from serving.workbench.state import DONE, WorkbenchState, Worklist, WorklistStore
from serving.workbench.worklist import entries_table

log = logging.getLogger(__name__)
ALL_REASONS = 100  # more than there are reason groups: every group, for the waterfall
# Lines explained while the whole day is scored: the riskiest ones, which hold the top lines of
# the first page's entries, so that page needs no second call to the scorer.
EXPLAIN_FIRST = 160
FIRST_PAGE_WAIT_S = 5.0


def audit_event(
    store: AuditStore,
    *,
    request_id: str,
    key_id: str,
    action: str,
    detail: dict[str, Any] | None = None,
    model: LoadedModel | None = None,
) -> None:
    """Append one audit row for a workbench action that is not about a single line.

    The detail goes in ``input_json``; ``entry_id`` stays empty, so training never mistakes
    it for a scored line.
    """
    stamp = model.stamp if model else None
    store.record([AuditRows(request_id, key_id).event(action, detail, stamp)])


def audit_view(
    store: AuditStore, wl: Worklist, lines: list[dict[str, Any]], request_id: str, key_id: str
) -> None:
    """Append one ``workbench_view`` row per line of an entry shown to an officer.

    Args:
        store: The audit store.
        wl: The worklist the entry is in (its model scored the lines).
        lines: :func:`explain_entry`'s lines, as shown.
        request_id: The page request's id.
        key_id: The officer's key id.
    """
    shown = [
        {"entry_id": ln["line"]["entry_id"], "line_no": ln["line_no"],
         "risk_score": ln["risk_score"], "risk_band": ln["risk_band"], "reasons": ln["reasons"],
         "presumption": ln.get("presumption", "")}
        for ln in lines
    ]  # fmt: skip
    store.record(AuditRows(request_id, key_id).viewed("workbench_view", wl.model.stamp, shown))


def _score(
    model: LoadedModel,
    lines: pd.DataFrame,
    reasons: int,
    share: float = 1.0,
    tips: TipIndex | None = None,
) -> pd.DataFrame:
    return _scores(model, lines, reasons, share, tips=tips)[0]


def _scores(
    model: LoadedModel,
    lines: pd.DataFrame,
    reasons: int,
    share: float = 1.0,
    observe: bool = False,
    tips: TipIndex | None = None,
) -> tuple[pd.DataFrame, Callable[[], np.ndarray | None]]:
    # Every workbench score comes from here: the day's ranking (with what gives its drift
    # bins, asked on the audit thread), a page's reasons, an entry.
    batch = Lines.from_frame(lines, model.scorer.bundle.state.passthrough)
    got = model.scorer.score(
        batch, reasons=reasons, explain_share=share, observe=observe, tips=tips
    )
    return got.to_frame(), got.drift_bins


def _audit_lines(
    wl: Worklist, store: AuditStore, model: LoadedModel, frame: pd.DataFrame,
    scored: pd.DataFrame, request_id: str, key_id: str, latency_ms: float,
    drift: tuple[DriftMonitor, Callable[[], np.ndarray | None]] | None = None,
) -> int:  # fmt: skip
    # Start once the first page has been sent (or after a few seconds): this work holds the
    # GIL for seconds and would otherwise slow exactly the page the officer is waiting for.
    wl.shown.wait(timeout=FIRST_PAGE_WAIT_S)
    scored = scored.copy()
    passthrough = model.scorer.bundle.state.passthrough
    scored["unknown_fields"] = unknown_fields(Lines.from_frame(frame, passthrough), passthrough)
    rows = AuditRows(request_id, key_id).scored(
        "workbench_score", model.stamp, frame_inputs(frame), results(scored), latency_ms
    )
    written = store.record(rows)
    if drift is not None:  # the drift window holds audited lines only
        drift[0].observe(model, drift[1]())
    return written


def build_worklist(
    state: WorkbenchState,
    *,
    model: LoadedModel,
    store: AuditStore,
    instruments: Instruments,
    frame: pd.DataFrame,
    n_read: int,
    bad_rows: pd.DataFrame,
    key_id: str,
    source: str,
    request_id: str,
    bad_rows_total: int | None = None,
    tips: TipIndex | None = None,
) -> Worklist:
    """Score a day's lines, rank its entries and keep it under a new id.

    One summary audit row (``workbench_upload``) is written before anything is shown; the
    per-line rows (``workbench_score``, with each input, as the API writes them) follow on
    the audit thread so a 50,000-line day shows its first page within seconds. Recording an
    outcome waits for them, so feedback always finds its scored input. ``tips``: the tips
    now (their reasons, and the tip features of a model trained with them).

    Raises:
        AuditUnavailableError: The summary row could not be written (nothing is shown).
    """
    t0 = time.perf_counter()
    total_bad = len(bad_rows) if bad_rows_total is None else bad_rows_total
    frame = frame.reset_index(drop=True)
    share = min(1.0, EXPLAIN_FIRST / max(1, len(frame)))
    scored, bins = _scores(model, frame, 3, share, observe=state.drift is not None, tips=tips)
    latency = (time.perf_counter() - t0) * 1000.0
    entries = entries_table(frame, scored)
    audit_event(
        store, request_id=request_id, key_id=key_id, action="workbench_upload", model=model,
        detail={"source": source, "n_read": n_read, "n_scored": len(frame),
                "n_entries": len(entries), "bad_rows": total_bad},
    )  # fmt: skip
    for band, n in scored["risk_band"].value_counts().items():
        instruments.scores.labels(str(band)).inc(int(n))
    wl = Worklist(
        id=WorklistStore.new_id(), key_id=key_id, source=source, model=model, lines=frame,
        scored=scored, entries=entries, n_read=n_read, bad_rows=bad_rows, request_id=request_id,
        bad_rows_total=total_bad,
    )  # fmt: skip
    wl.top_lines = dict(zip(entries["entry_id"], entries["top_line_no"].astype(int), strict=True))
    for e, n, r in zip(scored["entry_id"], scored["line_no"], scored["reasons"], strict=True):
        if r:
            wl.reasons[(str(e), int(n))] = plain(r)
    drift = (state.drift, bins) if state.drift is not None else None
    # In memory now (the redirect's page reads it here); in the store from the writer thread,
    # while the first page is drawn; then the per-line audit, on the same thread.
    state.worklists.cache(wl)
    state.auditor.submit(state.worklists.store, wl).add_done_callback(_log_store_failure)
    wl.audit = state.auditor.submit(
        _audit_and_note,
        state,
        wl,
        store,
        model,
        frame,
        scored,
        request_id,
        key_id,
        latency,
        drift,
    )
    return wl


def _log_store_failure(done: Future[None]) -> None:
    # Only this process has the worklist then: other workers and a restart will not find it.
    exc = done.exception()
    if exc is not None:
        log.error("worklist not stored (this process alone has it): %s", exc)


def _audit_and_note(state: WorkbenchState, wl: Worklist, *args: Any) -> int:
    """The per-line audit, then its end noted in the store (other workers read it there)."""
    try:
        n = _audit_lines(wl, *args)
    except Exception as exc:
        with contextlib.suppress(AuditUnavailableError):
            state.worklists.audit_finished(wl, f"failed: {exc}")
        raise
    state.worklists.audit_finished(wl, DONE)
    return n


def ensure_reasons(
    wl: Worklist, entry_ids: list[str], k: int = 3, tips: TipIndex | None = None
) -> None:
    """Compute and cache the top ``k`` reasons of every line of these entries (``tips`` now)."""
    with wl.lock:
        todo = [e for e in entry_ids if not _cached(wl, e)]
        if not todo:
            return
        mask = wl.scored["entry_id"].astype(str).isin(todo).to_numpy()
        sub = wl.lines[mask].reset_index(drop=True)
        out = _score(wl.model, sub, k, tips=tips)
        for e, n, r in zip(out["entry_id"], out["line_no"], out["reasons"], strict=True):
            wl.reasons[(str(e), int(n))] = plain(r)


def _cached(wl: Worklist, entry_id: str) -> bool:
    top = wl.top_lines.get(entry_id)
    return top is None or (entry_id, top) in wl.reasons


def top_reason(wl: Worklist, entry_id: str, line_no: int) -> dict[str, Any] | None:
    """The line's first reason (a presumption's legal basis, else a raising one), if computed."""
    items = wl.reasons.get((entry_id, line_no)) or []
    return next((r for r in items if r.get("direction") in ("presumes", "raises")), None)


def explain_entry(
    wl: Worklist, entry_id: str, tips: TipIndex | None = None
) -> list[dict[str, Any]]:
    """Every line of an entry with its score and *all* reason groups, plus the baseline.

    ``tips``: the tips that are evidence now (a line a tip names gets its ``tip`` reason).

    Returns:
        Per line (by ``line_no``): ``line`` (contract fields), ``risk_score``, ``risk_band``,
        ``model_version``, ``reasons`` (what raises the risk, then what lowers it),
        ``margin``, ``base`` (log-odds) and ``rest``: the part of the margin no reason
        explains (groups whose contribution rests on no evidence in the line).
    """
    sub = wl.entry_lines(entry_id).reset_index(drop=True)
    if not len(sub):
        return []
    out = _score(wl.model, sub, ALL_REASONS, tips=tips)
    cal = wl.model.scorer.bundle.calibration
    decisions = decision_ids(sub)
    lines = []
    for i in range(len(sub)):
        p = float(out["risk_score"].iloc[i])
        reasons = plain(out["reasons"].iloc[i])
        q = min(max(p, 1e-12), 1 - 1e-12)
        margin = (math.log(q / (1 - q)) - cal.b) / cal.a if cal.a else 0.0
        base = wl.model.scorer.baseline()
        lines.append(
            {
                "line": _line_dict(sub.iloc[i]),
                "line_no": int(out["line_no"].iloc[i]),
                "decision_id": decisions[i],
                "risk_score": p,
                "risk_band": str(out["risk_band"].iloc[i]),
                "presumption": str(out["presumption"].iloc[i]),
                "model_version": str(out["model_version"].iloc[i]),
                "reasons": reasons,
                "margin": margin,
                "base": base,
                "rest": margin - base - sum(float(r["contribution"]) for r in reasons),
            }
        )
    lines.sort(key=lambda d: d["line_no"])
    return lines


def _line_dict(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[str(k)] = ""
        elif isinstance(v, pd.Timestamp):
            out[str(k)] = v.strftime("%Y-%m-%d")
        else:
            out[str(k)] = plain(v)
    return out
