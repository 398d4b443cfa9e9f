"""Inspection outcomes sent to the API, turned back into labelled training lines."""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import inspect

from models.settings import Settings

log = logging.getLogger(__name__)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def load_feedback_lines(settings: Settings, columns: list[str]) -> pd.DataFrame:
    """Labelled contract-shaped lines from the feedback stored by the API.

    Each line's latest feedback is joined with the latest audited input of the same
    (``entry_id``, ``line_no``), and the result goes through the contract reader, so feedback
    lines are validated exactly like a training file. Feedback about a line the API never
    scored has no input to learn from: it is skipped and counted in a warning.

    Args:
        settings: Where the audit store is (``settings.audit_store_url()``).
        columns: Columns of the training frame; the result has exactly these.

    Returns:
        The labelled lines (possibly none); an empty frame when there is no store yet.
    """
    from models.contract.validate import validate_lines
    from models.store import AuditStore

    url = settings.audit_store_url()
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        from pathlib import Path

        if not Path(url.removeprefix("sqlite:///")).is_file():
            return _empty(columns)
    store = AuditStore(url)
    try:
        if not inspect(store.engine).has_table("feedback"):
            return _empty(columns)
        rows, skipped = store.feedback_with_inputs()
    finally:
        store.dispose()
    if skipped:
        log.warning("skipped %d feedback record(s) about lines the API never scored", skipped)
    if not rows:
        return _empty(columns)
    raw = pd.DataFrame(rows)
    passthrough = {c: "categorical" for c in columns if c in raw.columns and c not in _contract()}
    result = validate_lines(raw, require_labels=True, passthrough=passthrough, source="feedback")
    if len(result.bad_rows):
        log.warning(
            "skipped %d feedback line(s) that fail the contract",
            result.bad_rows["row"].nunique(),
        )
    frame = result.frame
    for c in columns:
        if c not in frame.columns:
            frame[c] = pd.NA
    return frame[columns].reset_index(drop=True)


def _contract() -> set[str]:
    from models.contract.columns import ALL_COLUMNS

    return set(ALL_COLUMNS)
