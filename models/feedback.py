"""Inspection outcomes: who wins when they disagree, how they are stored, how training reads them.

An outcome names the scored decision it judges (``decision_id``: the input hash of an audited
scoring of the line), so its label stays tied to the content that was judged: a later
re-score of the same entry line with other content does not inherit it.

A line's outcomes are resolved by :func:`resolve`: each voice (a key, through one channel)
counts with its latest record; an officer's word (the workbench) outranks a system's (an API
key); voices of the top rank that disagree on the label put the line under review, and
training leaves it out until they agree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import inspect

from models.audit_rows import AuditRows
from models.settings import Settings
from models.store import AuditStore, ExplorationPicks, FeedbackWrite

log = logging.getLogger(__name__)

# The channels feedback comes through, by rank: an officer's own label wins over a system's.
RANK = {"workbench": 2, "api": 1}
LABELLED, REVIEW = "labelled", "review"
# What an inspection found, as the contract's ``violation``: 1 detained, excluded or seized
# for forced labour; 0 released after review (docs/entry-lines.md, "Labels").
OUTCOMES = {"released": 0, "detained": 1, "excluded": 1, "seized": 1}


class Resolution(NamedTuple):
    """A line's status after its outcomes are weighed.

    Attributes:
        status: ``labelled`` (one label in force) or ``review`` (same-rank voices disagree).
        feedback_id: The record in force (the latest of the winning voices); None under
            review.
    """

    status: str
    feedback_id: int | None


def _label(record: Mapping[str, Any]) -> tuple[bool, str | None, int | None]:
    v = record.get("violation")
    return bool(record["inspected"]), record.get("inspection_reason"), None if v is None else int(v)


def resolve(records: Sequence[Mapping[str, Any]]) -> Resolution:
    """Weigh one line's feedback records (oldest first; at least one).

    A voice is a key through a channel; its latest record replaces its earlier ones (a
    correction). The highest-ranked channel present decides; if its voices disagree on the
    label (``inspected``, ``inspection_reason``, ``violation``), the line goes to review.
    Records from before channels were stored rank as a system's.
    """
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in records:
        latest[(str(r.get("source") or "api"), str(r["key_id"]))] = r
    top = max(RANK.get(src, 1) for src, _ in latest)
    voices = [r for (src, _), r in latest.items() if RANK.get(src, 1) == top]
    if len({_label(r) for r in voices}) > 1:
        return Resolution(REVIEW, None)
    return Resolution(LABELLED, max(int(r["id"]) for r in voices))


class UnknownDecisionError(ValueError):
    """Feedback names a decision that was never scored for that line."""


def record_outcome(
    store: AuditStore, item: Mapping[str, Any], *, key_id: str, source: str, request_id: str
) -> dict[str, Any]:
    """Store one outcome, re-resolve its line and audit both, in one transaction.

    Args:
        store: The :class:`~models.store.AuditStore`.
        item: The outcome: ``entry_id, line_no, decision_id, inspected, inspection_reason,
            violation, outcome, note``.
        key_id: The key that sent it (the officer's key for the workbench).
        source: ``workbench`` (an officer) or ``api`` (a system).
        request_id: The request id its audit rows carry.

    Returns:
        ``feedback_id``, ``request_id``, ``decision_id``, ``line_status``,
        ``label_feedback_id`` (the record training uses for the line; None under review) and
        ``inspection_reason`` as stored (``random`` for a line the server drew for a random
        check, :class:`~models.store.ExplorationPicks`).

    Raises:
        UnknownDecisionError: No audited scoring of this line has this decision id.
        AuditUnavailableError: The store could not be read or written; nothing was stored.
    """
    entry_id, line_no, decision = str(item["entry_id"]), int(item["line_no"]), item["decision_id"]
    if not store.has_decision(entry_id, line_no, decision):
        raise UnknownDecisionError(
            f"decision_id: no scored decision {decision} for entry {entry_id} line {line_no}"
        )
    if item.get("inspected") and ExplorationPicks(store).is_pick(entry_id, line_no, decision):
        # The server drew this line for a random check (models/selection.py): its label is
        # a random-sample label whatever the sender called it, so it feeds the unbiased view.
        item = {**item, "inspection_reason": "random"}
    rows = AuditRows(request_id, key_id)
    with store.feedback_write(entry_id, line_no) as tx:
        written = write_outcome(tx, item, rows, source=source)
    if written["line_status"] == REVIEW:
        log.info(
            "feedback %d puts a line under review (conflicting outcomes)", written["feedback_id"]
        )
    return {"request_id": request_id, **written,
            "inspection_reason": item.get("inspection_reason")}  # fmt: skip


def write_outcome(
    tx: FeedbackWrite, item: Mapping[str, Any], rows: AuditRows, *, source: str
) -> dict[str, Any]:
    """Inside a feedback transaction: store the outcome, re-resolve its line, audit both.

    Args:
        tx: The line's feedback transaction (its decision already checked).
        item: The outcome (see :func:`record_outcome`).
        rows: The audit rows' builder (who, which request, when).
        source: ``workbench`` or ``api``.

    Returns:
        ``feedback_id``, ``decision_id``, ``line_status`` and ``label_feedback_id``.
    """
    record = {"ts": rows.ts, "key_id": rows.key_id, "source": source, **item}
    fid = tx.add(record)
    records = tx.records()
    found = resolve(records)
    tx.set_status(found.status, found.feedback_id, len(records), rows.ts)
    detail = {**item, "source": source, "feedback_id": fid, "line_status": found.status,
              "label_feedback_id": found.feedback_id}  # fmt: skip
    tx.audit([rows.feedback(tx.entry_id, tx.line_no, detail)])
    return {"feedback_id": fid, "decision_id": item["decision_id"],
            "line_status": found.status, "label_feedback_id": found.feedback_id}  # fmt: skip


@dataclass
class FeedbackLines:
    """Feedback as training lines, with what was left out and why.

    Attributes:
        frame: The labelled lines (contract columns), one per line with a label in force.
        under_review: ``(entry_id, line_no)`` of lines whose outcomes conflict: training
            leaves these lines out altogether.
        unscored: Lines whose judged decision has no audited input (nothing to learn from).
        invalid: Lines that fail the contract.
    """

    frame: pd.DataFrame
    under_review: set[tuple[str, int]] = field(default_factory=set)
    unscored: int = 0
    invalid: int = 0


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _judged_input(record: Mapping[str, Any], inputs: list[dict[str, Any]]) -> str | None:
    """The input the record judged: its decision's, or (older records) the latest before it."""
    decision = record.get("decision_id")
    if decision:
        return next((i["input_json"] for i in inputs if i["input_hash"] == decision), None)
    before = [i for i in inputs if str(i["ts"]) <= str(record["ts"])]
    return before[-1]["input_json"] if before else None


def _labelled_rows(
    records: list[dict[str, Any]],
    statuses: dict[tuple[str, int], dict[str, Any]],
    inputs: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], set[tuple[str, int]], int]:
    by_line: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in records:
        by_line.setdefault((str(r["entry_id"]), int(r["line_no"])), []).append(r)
    by_input: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for i in inputs:
        by_input.setdefault((str(i["entry_id"]), int(i["line_no"])), []).append(i)
    rows: list[dict[str, Any]] = []
    review: set[tuple[str, int]] = set()
    unscored = 0
    for key, recs in by_line.items():
        st = statuses.get(key)
        # Lines judged before statuses were stored are resolved by the same rule here.
        found = Resolution(st["status"], st["feedback_id"]) if st else resolve(recs)
        if found.status == REVIEW:
            review.add(key)
            continue
        f = next(r for r in recs if int(r["id"]) == found.feedback_id)
        raw = _judged_input(f, by_input.get(key, []))
        if raw is None:
            unscored += 1
            continue
        line = json.loads(raw)
        line.update(
            inspected="true" if f["inspected"] else "false",
            inspection_reason=f["inspection_reason"] or "",
            violation="" if f["violation"] is None else str(int(f["violation"])),
        )
        rows.append(line)
    return rows, review, unscored


def load_feedback_lines(settings: Settings, columns: list[str]) -> FeedbackLines:
    """Labelled contract-shaped lines from the feedback in the store.

    Each line's label in force is joined with the input of the decision it judged (not the
    line's latest scoring), and the result goes through the contract reader, so feedback
    lines are validated exactly like a training file. Lines under review, lines whose
    decision has no audited input and lines that fail the contract are left out and counted.

    Args:
        settings: Where the store is (``settings.audit_store_url()``).
        columns: Columns of the training frame; the result's frame has exactly these.

    Returns:
        The labelled lines (possibly none) and the counts; empty when there is no store yet.
    """
    from models.contract.validate import validate_lines

    url = settings.audit_store_url()
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).is_file():
        return FeedbackLines(_empty(columns))
    store = AuditStore(url)
    try:
        if not inspect(store.engine).has_table("feedback"):
            return FeedbackLines(_empty(columns))
        records, statuses, inputs = store.feedback_for_training()
    finally:
        store.dispose()
    rows, review, unscored = _labelled_rows(records, statuses, inputs)
    if not rows:
        return FeedbackLines(_empty(columns), review, unscored)
    raw = pd.DataFrame(rows)
    passthrough = {c: "categorical" for c in columns if c in raw.columns and c not in _contract()}
    result = validate_lines(raw, require_labels=True, passthrough=passthrough, source="feedback")
    invalid = int(result.bad_rows["row"].nunique()) if len(result.bad_rows) else 0
    frame = result.frame
    for c in columns:
        if c not in frame.columns:
            frame[c] = pd.NA
    return FeedbackLines(frame[columns].reset_index(drop=True), review, unscored, invalid)


def _contract() -> set[str]:
    from models.contract.columns import ALL_COLUMNS

    return set(ALL_COLUMNS)
