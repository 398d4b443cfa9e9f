"""The worklist's exploration picks, kept in the store so outcomes on them count as random.

The selection itself is :func:`models.selection.select` (through
:func:`serving.workbench.worklist.capacity`); this module keeps its random checks in the
store (:class:`models.store.ExplorationPicks`) whenever the list an officer is shown
changes, with an audit row, so the server (not the form) knows which lines were drawn.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from models.audit_rows import AuditRows
from models.selection import RANDOM_CHECK
from models.store import AuditStore, ExplorationPicks
from serving.service import decision_ids
from serving.workbench.state import Worklist
from serving.workbench.worklist import Capacity

KIND = "worklist"


def random_entries(entries: pd.DataFrame) -> list[str]:
    """Entry ids marked ``random_check`` in a frame with a ``selection`` column."""
    if "selection" not in entries:
        return []
    return [str(e) for e in entries.loc[entries["selection"] == RANDOM_CHECK, "entry_id"]]


def _picks(wl: Worklist, entry_ids: list[str]) -> list[dict[str, Any]]:
    """Every line of the drawn entries: an entry is examined whole."""
    out = []
    for e in entry_ids:
        lines = wl.entry_lines(e)
        for n, d in zip(lines["line_no"].astype(int), decision_ids(lines), strict=True):
            out.append({"entry_id": e, "line_no": int(n), "decision_id": d})
    return out


def keep_picks(
    store: AuditStore, wl: Worklist, entries: pd.DataFrame, cap: Capacity, *,
    request_id: str, key_id: str, stratify: str,
) -> None:  # fmt: skip
    """Store the worklist's current random checks if they differ from those stored.

    Args:
        store: The audit store.
        wl: The worklist.
        entries: The filtered entries with their ``selection`` column.
        cap: The capacity figures of that selection (its share, seed, capacity).
        request_id: The page request's id (the audit row's).
        key_id: The officer's key.
        stratify: The stratification asked for ("" for none), for the audit row.
    """
    picks_store = ExplorationPicks(store)
    drawn = random_entries(entries)
    picks = _picks(wl, drawn)
    have = picks_store.current(wl.id)
    same_lines = {(p["entry_id"], p["line_no"], p["decision_id"]) for p in picks} == {
        (h["entry_id"], h["line_no"], h["decision_id"]) for h in have
    }
    same_setting = bool(have) and (have[0]["capacity"], have[0]["seed"]) == (cap.n, cap.seed)
    if same_lines and (same_setting or not picks):
        return
    rows = AuditRows(request_id, key_id)
    detail = {"worklist": wl.id, "capacity": cap.n, "explore": cap.explore, "seed": cap.seed,
              "stratify": stratify, "random_check_entries": drawn,
              "expected_cost": round(cap.expected_cost, 6)}  # fmt: skip
    picks_store.replace(
        wl.id, KIND, picks, capacity=cap.n, explore=cap.explore, seed=cap.seed, ts=rows.ts,
        audit_rows=[rows.event("workbench_selection", detail, wl.model.stamp)],
    )  # fmt: skip


def picked_entries(store: AuditStore, wl: Worklist) -> set[str]:
    """Entries of the worklist currently drawn for a random check."""
    return {str(p["entry_id"]) for p in ExplorationPicks(store).current(wl.id)}
