"""Selections in scored files: which entries to examine, and the random checks kept in the store.

``POST /v1/score/file`` (at once or as a job) takes ``select`` (entries to examine) and
``explore`` (the share of them drawn at random from the rest). The choice is
:func:`models.selection.select`, the function the workbench and ``flrisk score --select``
use; the seed is the request's or job's (:func:`models.selection.seed_of`). The random
checks' lines are kept in the store (:class:`models.store.ExplorationPicks`), so an outcome
sent for one of them through ``POST /v1/feedback`` is stored as ``inspection_reason=random``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.audit_rows import AuditRows
from models.selection import RANDOM_CHECK, seed_of, select
from models.store import AuditStore, ExplorationPicks


@dataclass(frozen=True)
class Asked:
    """What the caller asked: entries to select, the exploration share, the stratification."""

    select: int = 0
    explore: float = 0.05
    stratify: str = ""

    def key(self) -> list[Any]:
        """The options as they enter a job's id."""
        return [self.select, self.explore, self.stratify]


def entry_sectors(frame: pd.DataFrame) -> dict[str, str]:
    """Each entry's sector: the HS chapter of its first line (the strata of random checks)."""
    hts = frame["hts_code"].astype("string").fillna("").str.replace(".", "", regex=False)
    chapters = pd.Series(hts.str[:2].to_numpy(), index=frame["entry_id"].astype(str).to_numpy())
    return {str(k): str(v) for k, v in chapters.groupby(level=0).first().items()}


def mark(
    entries: list[dict[str, Any]], asked: Asked, ref: str, sectors: dict[str, str] | None
) -> dict[str, Any] | None:
    """Mark each ranked entry's ``selection`` and return the selection's summary.

    Args:
        entries: Ranked entries (``rank_entries``), changed in place.
        asked: The caller's options (nothing is marked when ``select`` is 0).
        ref: The request's or job's id (the seed is derived from it).
        sectors: Entry -> HS chapter, for a stratified draw (``stratify == "sector"``).
    """
    if not asked.select:
        return None
    seed = seed_of(ref)
    scores = np.array([e["risk_score"] for e in entries], dtype=float)
    strata = None
    if asked.stratify and sectors is not None:
        strata = np.array([sectors.get(str(e["entry_id"]), "") for e in entries], dtype=object)
    presumed = np.array([bool(e.get("presumption")) for e in entries], dtype=bool)
    sel = select(scores, asked.select, asked.explore, seed, strata, presumed)
    for e, kind in zip(entries, sel.kind, strict=True):
        e["selection"] = kind or None
    return {"capacity": sel.capacity, "explore": asked.explore, "seed": seed,
            "stratify": asked.stratify or None, "random_checks": len(sel.random),
            "expected_found": round(sel.expected_found, 6),
            "expected_cost": round(sel.expected_cost, 6)}  # fmt: skip


def keep(
    store: AuditStore,
    entries: list[dict[str, Any]],
    summary: dict[str, Any] | None,
    ref: str,
    key_id: str,
) -> None:
    """Keep the random checks of a marked selection in the store, with an audit row."""
    if summary is None:
        return
    drawn = [e for e in entries if e.get("selection") == RANDOM_CHECK]
    picks = [
        {"entry_id": str(e["entry_id"]), "line_no": int(ln["line_no"]),
         "decision_id": ln["decision_id"]}
        for e in drawn for ln in e["lines"] if ln.get("decision_id")
    ]  # fmt: skip
    rows = AuditRows(ref, key_id)
    detail = {**summary, "ref": ref, "random_check_entries": [e["entry_id"] for e in drawn]}
    ExplorationPicks(store).replace(
        ref, "job", picks, capacity=summary["capacity"], explore=summary["explore"],
        seed=summary["seed"], ts=rows.ts, audit_rows=[rows.event("file_selection", detail)],
    )  # fmt: skip
