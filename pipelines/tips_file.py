"""``flrisk train --tips FILE.csv``: tips from a file, for training on one's own allegations.

One row per party a tip names; rows with the same ``tip_id`` are one tip. Columns:

| column | required | what |
|---|---|---|
| ``tip_id`` | yes | the tip (any text; rows sharing it are one tip) |
| ``received_date`` | yes | ``YYYY-MM-DD``: the day the allegation was received |
| ``source_type`` | yes | ``ngo``, ``public``, ``partner_agency`` or ``anonymous`` |
| ``role`` | yes | the party's role: ``manufacturer``, ``shipper`` or ``importer`` |
| ``party_name`` | one of the two | the party's name as the tip gives it |
| ``party_id`` | one of the two | its ID (importer number, MID) |
| ``corroborated_date`` | no | ``YYYY-MM-DD``: the day it was corroborated |
| ``dismissed_date`` | no | ``YYYY-MM-DD``: the day it was dismissed |
| ``duplicate_of`` | no | the ``tip_id`` of the earlier tip this one repeats |

Other columns (``country``, ``hs``, ``allegation``...) are kept out of the features. The
status dates make the features leak-free: a line counts a tip as corroborated only if it was
corroborated before the line's entry date (:mod:`models.features.tips`). A mistake is said
with its row (the file's line: the header is line 1) and column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import UserError
from models.features.tips import TipIndex
from models.reference.entities import normalize_name
from models.scoring.tip_reasons import SOURCES
from models.settings import Settings
from models.tips import load_tips

REQUIRED = ("tip_id", "received_date", "source_type", "role")
ROLES = ("manufacturer", "shipper", "importer")
DATES = ("received_date", "corroborated_date", "dismissed_date")


class TipsFileError(UserError, ValueError):
    """A tips file that cannot be read as tips (the message names the row and column)."""

    hint = (
        "A tips file has one row per party named: tip_id, received_date (YYYY-MM-DD), "
        "source_type, role, party_name or party_id, and optionally corroborated_date, "
        "dismissed_date, duplicate_of (README, docs/evaluation.md)."
    )


def _date(path: Path, row: int, col: str, text: str) -> str | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise TipsFileError(
            f"{path}: row {row}, column {col}: {text!r} is not a date (YYYY-MM-DD)"
        ) from None


def read_tips_file(path: Path) -> list[dict[str, Any]]:
    """The file's tips in the store's form, numbered 1, 2, ... in file order.

    Each tip: ``id, received_date, source_type, status, duplicate_of, corroborated_at,
    dismissed_at, parties`` (``role, name, name_key, party_id``).

    Raises:
        TipsFileError: A missing column, a bad value (row and column named), a tip whose
            rows disagree, a ``duplicate_of`` naming no tip of the file.
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TipsFileError(f"{path}: not a CSV tips file ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if "party_name" not in frame.columns and "party_id" not in frame.columns:
        missing.append("party_name or party_id")
    if missing:
        raise TipsFileError(f"{path}: no column {', '.join(missing)}")
    tips: dict[str, dict[str, Any]] = {}
    duplicates: dict[str, tuple[int, str]] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2  # the header is line 1
        cell = {k: str(v).strip() for k, v in rec.items()}
        for col in REQUIRED:
            if not cell[col]:
                raise TipsFileError(f"{path}: row {row}, column {col}: empty")
        if cell["source_type"] not in SOURCES:
            raise TipsFileError(
                f"{path}: row {row}, column source_type: {cell['source_type']!r} is not one "
                f"of {list(SOURCES)}"
            )
        if cell["role"] not in ROLES:
            raise TipsFileError(
                f"{path}: row {row}, column role: {cell['role']!r} is not one of {list(ROLES)}"
            )
        name, pid = cell.get("party_name", ""), cell.get("party_id", "")
        if not name and not pid:
            raise TipsFileError(f"{path}: row {row}, column party_name: empty, and no party_id")
        days = {c: _date(path, row, c, cell.get(c, "")) for c in DATES}
        for col in ("corroborated_date", "dismissed_date"):
            day = days[col]
            if day is not None and day < str(days["received_date"]):
                raise TipsFileError(f"{path}: row {row}, column {col}: {day} is before the tip "
                                    f"was received ({days['received_date']})")  # fmt: skip
        status = (
            "dismissed" if days["dismissed_date"] else
            "corroborated" if days["corroborated_date"] else "new"
        )  # fmt: skip
        tip = {
            "id": len(tips) + 1, "received_date": days["received_date"],
            "source_type": cell["source_type"], "status": status, "duplicate_of": None,
            "corroborated_at": days["corroborated_date"], "dismissed_at": days["dismissed_date"],
        }  # fmt: skip
        known = tips.get(cell["tip_id"])
        if known is None:
            known = tips[cell["tip_id"]] = {**tip, "parties": []}
        elif any(known[k] != tip[k] for k in tip if k != "id"):
            raise TipsFileError(
                f"{path}: row {row}: tip {cell['tip_id']!r} has other dates, source or status "
                "than on its first row"
            )
        known["parties"].append({
            "role": cell["role"], "name": name or None,
            "name_key": normalize_name(name) or None if name else None, "party_id": pid or None,
        })  # fmt: skip
        if cell.get("duplicate_of"):
            duplicates[cell["tip_id"]] = (row, cell["duplicate_of"])
    for tip_id, (row, original) in duplicates.items():
        if original not in tips:
            raise TipsFileError(
                f"{path}: row {row}, column duplicate_of: no tip {original!r} in the file"
            )
        tips[tip_id]["duplicate_of"] = tips[original]["id"]
    return list(tips.values())


def read_training_tips(
    settings: Settings, tips_file: Path | None, use_store: bool
) -> TipIndex | None:
    """The tips a run counts (training, evaluation): a file's and, with ``use_store``, the store's.

    Returns:
        Their index, or None when there is none (the model then has no tip features).
    """
    tips = read_tips_file(tips_file) if tips_file is not None else []
    if use_store:
        # The file's tips numbered after the store's: ids tell tips apart when counting.
        stored = load_tips(settings)
        top = max((int(t["id"]) for t in stored), default=0)
        for t in tips:
            t["id"] += top
            if t["duplicate_of"] is not None:
                t["duplicate_of"] += top
        tips = [*stored, *tips]
    if tips:
        print(f"{len(tips)} tip(s) counted by the tip features")
    index = TipIndex.from_tips(tips)
    return index if index else None
