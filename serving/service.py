"""The scoring path shared by the JSON and file endpoints, the jobs and the workbench.

JSON lines are validated as columns of texts by ``models.contract.validate.validate_lines``
(the same checks as a file's), so the API and ``flrisk score`` normalise a line identically;
scores come from ``Scorer.score`` on the same batch. Every scored line is audited before
anything is returned.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fastapi.exceptions import RequestValidationError

from models.audit_rows import AuditRow, AuditRows
from models.contract.batch import Lines
from models.contract.columns import OPTIONAL, REQUIRED
from models.contract.validate import ReadResult, validate_lines
from models.features.distinct import isna
from models.reference.snapshot import ReferenceSnapshot
from models.scoring.presumption import join_presumptions
from models.scoring.scorer import Scores
from models.scoring.tip_reasons import TipIndex
from models.store import (
    AuditStore,
    AuditUnavailableError,
    ShadowScores,
    canonical_json,
    input_hash,
    now_iso,
)
from serving.drift import DriftMonitor
from serving.errors import log_failure
from serving.instruments import Instruments
from serving.model_holder import LoadedModel, ModelHolder

log = logging.getLogger(__name__)
# The contract's reasons end by quoting the cell ("unparseable date '14/03'"): an answer to a
# JSON request names the line and field instead, and never echoes the value.
QUOTED_VALUE = re.compile(r"[:\s]*'.*'\Z", re.DOTALL)


def plain(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays turned into Python values (JSON-safe)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [plain(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _column_texts(
    lines: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> dict[str, list[str | None]]:
    """The lines' columns as texts (absent: None), in one pass over the lines' own fields.

    Every field of a line must be one of ``columns`` (unknown fields are refused before).
    """
    n = len(lines)
    out: dict[str, list[str | None]] = {c: [None] * n for c in columns}
    for i, line in enumerate(lines):
        for name, v in line.items():
            if v is not None:
                out[name][i] = v if type(v) is str else _cell_text(v)
    return out


def validate_request(
    lines: Sequence[Mapping[str, Any]],
    passthrough: Mapping[str, str],
    texts: Mapping[str, list[str | None]] | None = None,
) -> ReadResult:
    """Validate JSON lines with the contract reader; 422 naming line index and field.

    Args:
        lines: The request's lines as dicts (``model_dump(exclude_none=True)``).
        passthrough: Pass-through feature columns the served model declares.
        texts: The same lines as columns of text, when the body was read into columns
            (``serving.api.lines_body``): every field any line holds, absent ones ``None``.

    Raises:
        RequestValidationError: A field is unknown to the model, or a value breaks the
            contract; ``loc`` is ``["body", "lines", index, field]`` and ``msg`` the rule
            broken, without the value (the caller knows it by its ``loc``).
    """
    # Label columns are training data, not inputs: a screening request must not carry them.
    columns = [*REQUIRED, *OPTIONAL, *(c for c in passthrough if c not in OPTIONAL)]
    known = set(columns)
    errors: list[dict[str, Any]] = []
    n = len(lines)
    # Columns that hold only known fields need no look through the lines for unknown ones.
    for i, line in enumerate(lines if texts is None or not texts.keys() <= known else ()):
        for name in line:
            if name not in known:
                allowed = ", ".join(sorted(passthrough)) or "none"
                errors.append(
                    {
                        "type": "extra_forbidden",
                        "loc": ("body", "lines", i, name),
                        "msg": f"unknown field (model pass-through fields: {allowed})",
                    }
                )
    if errors:
        raise RequestValidationError(errors)
    if texts is None:
        raw = _column_texts(lines, columns)
    else:  # in the contract's order, as the report's; an optional field no line holds is
        # left out (unknown, as the reader makes an absent column), the others refused per line
        needed = {*REQUIRED, *passthrough}
        raw = {c: texts.get(c) or [None] * n for c in columns if c in texts or c in needed}
    result = validate_lines(raw, passthrough=dict(passthrough), source="request", row_offset=0)
    if len(result.bad_rows):
        raise RequestValidationError(
            [
                {
                    "type": "contract",
                    "loc": ("body", "lines", int(str(r.row)), str(r.column)),
                    "msg": QUOTED_VALUE.sub("", str(r.reason)),
                }
                for r in result.bad_rows.itertuples(index=False)
            ]
        )
    return result


def unknown_fields(lines: Lines, passthrough: Mapping[str, str]) -> list[list[str]]:
    """Per line, the optional fields that were empty or absent (evidence the scorer lacked).

    Args:
        lines: The validated lines.
        passthrough: Pass-through feature columns the served model declares.
    """
    cols = [c for c in (*OPTIONAL, *passthrough) if c in lines]
    n = len(lines)
    if not cols or not n:
        return [[] for _ in range(n)]
    missing = np.empty((n, len(cols)), dtype=bool)
    for j, c in enumerate(cols):
        missing[:, j] = isna(lines[c])  # a few lines: Python checks, not pandas'
    names = np.array(cols, dtype=object)
    return [names[row].tolist() for row in missing]


def _values(col: Any) -> list[Any]:
    """A column's values as Python objects (NumPy and pandas arrays, Series, lists)."""
    tolist = getattr(col, "tolist", None)
    return tolist() if tolist is not None else list(col)


def line_fields(scores: Scores, unknown: Sequence[list[str]]) -> dict[str, list[Any]]:
    """The fields of each answered line, by name, as columns of Python values.

    The one place that says what a scored line of an answer holds (and its audit row reads):
    a new per-line field is one entry here and one in ``serving.api.schemas``.

    Args:
        scores: The scored batch.
        unknown: Per line, the fields that were unknown (:func:`unknown_fields`).
    """
    return {
        "entry_id": _values(scores.entry_id),
        "line_no": scores.line_no.tolist(),
        "risk_score": scores.risk_score.tolist(),
        "risk_band": scores.risk_band.tolist(),
        "presumption": scores.presumption.tolist(),
        "reasons": scores.reasons.tolist(),
        "unknown_fields": list(unknown),
    }


def response_lines(fields: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One dict per line from columns of Python values (:func:`line_fields`), in order."""
    names = list(fields)
    return [dict(zip(names, values, strict=True)) for values in zip(*fields.values(), strict=True)]


def results(
    scored: pd.DataFrame | Mapping[str, Any], unknown: Sequence[list[str]] | None = None
) -> list[dict[str, Any]]:
    """Scored lines as response dicts, in order (a frame's or a mapping's columns).

    Args:
        scored: A frame of scored lines (``Scores.to_frame()``) or a mapping of the same
            columns, with an ``unknown_fields`` column unless ``unknown`` gives them.
        unknown: Per line, the fields that were unknown.
    """
    fields: dict[str, list[Any]] = {
        "entry_id": [str(e) for e in _values(scored["entry_id"])],
        "line_no": [int(n) for n in _values(scored["line_no"])],
        "risk_score": [float(x) for x in _values(scored["risk_score"])],
        "risk_band": [str(b) for b in _values(scored["risk_band"])],
        "presumption": [str(p) for p in _values(scored["presumption"])],
        "reasons": [plain(r) for r in _values(scored["reasons"])],
        "unknown_fields": [
            list(u) for u in (scored["unknown_fields"] if unknown is None else unknown)
        ],
    }
    return response_lines(fields)


def rank_entries(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries in ranking order, lines in order within.

    An entry with a presumed line comes before every entry without one (the law presumes
    it, whatever its score), then entries by their riskiest line's score. An entry's
    ``presumption`` joins its lines' bases.
    """
    by_entry: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_entry.setdefault(line["entry_id"], []).append(line)
    entries = []
    for entry_id, items in by_entry.items():
        items.sort(key=lambda x: x["line_no"])
        top = max(items, key=lambda x: x["risk_score"])
        entries.append(
            {
                "entry_id": entry_id,
                "risk_score": top["risk_score"],
                "risk_band": top["risk_band"],
                "presumption": join_presumptions(x.get("presumption", "") for x in items),
                "lines": items,
            }
        )
    entries.sort(key=lambda x: (not x["presumption"], -x["risk_score"], x["entry_id"]))
    return entries


def frame_inputs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Normalised lines as JSON-ready dicts (dates ISO, unknowns omitted), for the audit."""
    out = frame.copy()
    if "entry_date" in out:
        out["entry_date"] = pd.to_datetime(out["entry_date"]).dt.strftime("%Y-%m-%d")
    drop = [c for c in ("inspected", "inspection_reason", "violation") if c in out]
    out = out.drop(columns=drop).astype(object)
    recs = out.where(out.notna(), None).to_dict("records")
    return [{str(k): plain(v) for k, v in r.items() if v is not None} for r in recs]


def decision_ids(frame: pd.DataFrame) -> list[str]:
    """Each line's decision id: the hash of its audited input (see :func:`frame_inputs`)."""
    return [input_hash(canonical_json(line)) for line in frame_inputs(frame)]


@dataclass(frozen=True)
class Scored:
    """Scored lines awaiting their audit write (see :func:`score_lines`).

    Attributes:
        results: The response dict of each line, in order.
        rows: The audit row of each line.
        model: The model that scored them.
        drift_bins: What gives their drift bins (``Scores.drift_bins``), for the drift window.
        reference_versions: The reference tables the lines were matched against.
    """

    results: list[dict[str, Any]]
    rows: list[AuditRow]
    model: LoadedModel | None = None
    drift_bins: Callable[[], np.ndarray | None] | None = None
    reference_versions: dict[str, str] = field(default_factory=dict)


def score_lines(
    *,
    model: LoadedModel,
    lines: Lines,
    inputs: Sequence[Mapping[str, Any]],
    reasons: int,
    request_id: str,
    key_id: str,
    action: str,
    explain_share: float = 1.0,
    tips: TipIndex | None = None,
    reference: ReferenceSnapshot | None = None,
) -> Scored:
    """Score lines and build their audit rows; nothing is written (see :func:`audit`).

    Args:
        model: The served model.
        lines: The validated lines.
        inputs: Each line as received (its audit record).
        reasons: Reasons per line.
        request_id: The request (or job) id written to the audit.
        key_id: The caller's key id.
        action: The audit action (``score``, ``score_file``).
        explain_share: Share of lines, riskiest first, that get reasons.
        tips: Tips that count as evidence (each line a tip names gets a ``tip`` reason).
        reference: The reference snapshot to match against (a job keeps one for all its
            chunks); default: the current one.
    """
    t0 = time.perf_counter()
    scorer = model.scorer
    scored = scorer.score(
        lines, reasons, explain_share, observe=True, tips=tips, reference=reference
    )
    # The scorer's reasons are plain Python values already: no conversion per value.
    out = response_lines(
        line_fields(scored, unknown_fields(lines, scorer.bundle.state.passthrough))
    )
    latency = (time.perf_counter() - t0) * 1000.0
    rows = AuditRows(request_id, key_id).scored(action, model.stamp, inputs, out, latency)
    for res, row in zip(out, rows, strict=True):
        # The decision a feedback names: the hash of the line's audited content.
        res["decision_id"] = row["input_hash"]
    return Scored(out, rows, model, scored.drift_bins, dict(scored.reference_versions))


def audit(
    store: AuditStore,
    instruments: Instruments,
    scored: Scored,
    *,
    wait: bool = True,
    drift: DriftMonitor | None = None,
) -> bool:
    """Write the audit rows of scored lines in one transaction, then count them by band.

    Args:
        store: The audit store.
        instruments: The app's Prometheus instruments.
        scored: Output of :func:`score_lines`.
        wait: False to write only if that needs no wait for another writer (see
            ``AuditStore.record``); nothing is written or counted otherwise.
        drift: The drift monitor, given the written lines' drift bins.

    Returns:
        True once written; False when ``wait`` is False and the write would have waited.

    Raises:
        AuditUnavailableError: The write failed (the caller answers 503).
    """
    try:
        if store.record(scored.rows, wait=wait) is None:
            return False
    except Exception:
        instruments.audit_failures.inc()
        raise
    for band, n in Counter(r["risk_band"] for r in scored.results).items():
        instruments.scores.labels(str(band)).inc(n)
    if drift is not None:
        observe_drift(drift, scored)
    return True


def observe_drift(drift: DriftMonitor, scored: Scored) -> None:
    """Give the drift window the bins of audited lines (the JSON endpoint: once answered)."""
    if scored.model is not None and scored.drift_bins is not None:
        drift.observe(scored.model, scored.drift_bins())


def shadow_score(
    holder: ModelHolder,
    read: ReadResult,
    champion: Scored,
    instruments: Instruments,
    shadows: ShadowScores,
) -> None:
    """Score with the shadow model and store its scores beside the champion's (never returned).

    Args:
        holder: The model holder (its ``shadow``).
        read: The request's validated lines.
        champion: The request's scored lines, as answered.
        instruments: The app's Prometheus instruments.
        shadows: Where the shadow scores are kept.
    """
    shadow = holder.shadow
    lines = read.lines
    if shadow is None or champion.model is None or not len(lines) or not champion.rows:
        return
    request_id = champion.rows[0]["request_id"]
    try:
        s = shadow.scorer.score(lines, reasons=0)
    except Exception as exc:  # a broken challenger must never affect serving
        log_failure(log, f"shadow scoring of request {request_id}", exc)
        return
    for band, n in Counter(s.risk_band.tolist()).items():
        instruments.shadow_scores.labels(str(band)).inc(int(n))
    ts, champ, chall = now_iso(), champion.model.resolved.uri, shadow.resolved.uri
    rows = [
        {"ts": ts, "request_id": request_id, "entry_id": r["entry_id"], "line_no": r["line_no"],
         "champion_version": champ, "champion_score": r["risk_score"],
         "champion_band": r["risk_band"], "challenger_version": chall,
         "challenger_score": float(score), "challenger_band": str(band)}
        for r, score, band in zip(champion.results, s.risk_score, s.risk_band, strict=True)
    ]  # fmt: skip
    detail = {"champion": champ, "challenger": chall, "lines": len(rows)}
    key_id = champion.rows[0]["key_id"]
    # No model stamp: the audit's model column names the models that made decisions.
    event = AuditRows(request_id, key_id).event("shadow_score", detail)
    try:
        shadows.record(rows, event)
    except AuditUnavailableError as exc:  # the answer is sent: only the comparison is lost
        log_failure(log, f"shadow scores of request {request_id} not stored", exc)
    agree = float(np.mean([r["champion_band"] == r["challenger_band"] for r in rows]))
    log.info(
        "shadow %s vs %s on request %s: %d lines, band agreement %.3f",
        chall, champ, request_id, len(rows), agree,
    )  # fmt: skip
