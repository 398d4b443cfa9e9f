"""Reading an importer's supplier list: required columns, one problem per (row, column).

A supplier list has ``supplier_id, name, address, country`` and, optionally, ``hts_code``,
``goods``, ``tier`` and ``supplies_to`` (the ``supplier_id`` of the customer it supplies;
several joined by ``|``). Bad rows are kept apart with their reasons, never dropped
silently: the report lists them by row and column. Row numbers are what a text editor shows
(CSV: the header is line 1), the 1-based position in a Parquet file, and the index in a JSON
list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pycountry

from models.errors import UserError

REQUIRED = ("supplier_id", "name", "address", "country")
OPTIONAL = ("hts_code", "goods", "tier", "supplies_to")
COLUMNS = REQUIRED + OPTIONAL
BAD_COLUMNS = ("row", "column", "value", "reason")
MAX_TIER = 50
MAX_TEXT = 500  # characters per cell: a name or an address is never longer
VALUE_CHARS = 80  # a bad cell's value in the report is cut to this length
_HTS = re.compile(r"^\d{4}(\.?\d{2}){1,3}$")


class SupplierFileError(UserError, ValueError):
    """The supplier list cannot be read at all (format, columns, size)."""

    hint = (
        "A supplier list is a CSV or Parquet file with the columns supplier_id, name, address, "
        "country (and optionally hts_code, goods, tier, supplies_to); see docs/self-check.md."
    )


@dataclass
class SupplierList:
    """The good rows of a supplier list and the report of the bad ones.

    Attributes:
        frame: One row per good supplier: the columns of ``COLUMNS`` as text (``""`` when
            absent) and ``row``, its row number in the input.
        bad: One row per problem: ``row, column, value, reason``.
        rows: Rows read (good and bad).
    """

    frame: pd.DataFrame
    bad: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(BAD_COLUMNS)))
    rows: int = 0


@cache
def _countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def read_suppliers(path: Path, max_rows: int | None = None) -> SupplierList:
    """Read and check a supplier list from a CSV or Parquet file.

    Args:
        path: The file (``.csv``/``.txt`` or ``.parquet``/``.pq``).
        max_rows: Refuse a file holding more rows (``None``: no limit).

    Returns:
        The good suppliers and the bad-row report.

    Raises:
        SupplierFileError: Unknown format, unreadable file, a required column missing, or
            more rows than ``max_rows``.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            # Blank lines are read (and dropped below) so that row numbers stay line numbers.
            raw = pd.read_csv(
                path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                encoding="utf-8-sig", nrows=None if max_rows is None else max_rows + 1,
            )  # fmt: skip
            offset = 2
        elif suffix in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            offset = 1
        else:
            raise SupplierFileError(f"{path.name}: not a .csv or .parquet file")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, SupplierFileError):
            raise
        raise SupplierFileError(f"{path.name} cannot be read: {type(exc).__name__}") from None
    return check_frame(raw, row_offset=offset, max_rows=max_rows)


def suppliers_from_records(records: Sequence[dict[str, Any]]) -> SupplierList:
    """Check a supplier list given as records (a JSON body); rows are numbered from 0."""
    # Cells as text one by one: a frame would turn a column of numbers with a gap into floats.
    texts = [{str(k): "" if v is None else str(v) for k, v in r.items()} for r in records]
    frame = pd.DataFrame.from_records(texts).fillna("") if texts else pd.DataFrame()
    return check_frame(frame, row_offset=0)


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        values = frame[column].tolist()
        out[column] = ["" if v is None or v is pd.NA or v != v else str(v).strip() for v in values]
    return out


def check_frame(
    raw: pd.DataFrame, row_offset: int = 1, max_rows: int | None = None
) -> SupplierList:
    """Check the rows of a supplier list read as a frame.

    Args:
        raw: The columns as read (any order, any case; other columns are ignored).
        row_offset: Row number of the first row.
        max_rows: Refuse more rows than this.

    Returns:
        The good suppliers and the bad-row report.

    Raises:
        SupplierFileError: A required column missing, or more rows than ``max_rows``.
    """
    if max_rows is not None and len(raw) > max_rows:
        raise SupplierFileError(f"the list holds more than {max_rows} rows")
    raw = raw.rename(columns={c: str(c).strip().lower() for c in raw.columns})
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise SupplierFileError(f"required column(s) missing: {', '.join(missing)}")
    frame = _text(raw[[c for c in COLUMNS if c in raw.columns]])
    for column in OPTIONAL:
        if column not in frame.columns:
            frame[column] = ""
    frame["row"] = range(row_offset, row_offset + len(frame))
    blank = (frame[list(COLUMNS)] == "").all(axis=1)
    frame = frame[~blank].reset_index(drop=True)
    frame["country"] = frame["country"].str.upper()
    problems = _problems(frame)
    bad_rows = {p[0] for p in problems}
    good = frame[~frame["row"].isin(bad_rows)].reset_index(drop=True)
    bad = pd.DataFrame(sorted(problems, key=lambda p: (p[0], COLUMNS.index(p[1]))),
                       columns=list(BAD_COLUMNS))  # fmt: skip
    return SupplierList(frame=good, bad=bad, rows=len(frame))


def _problems(frame: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """Every (row, column, value, reason) problem of the list."""
    out: list[tuple[int, str, str, str]] = []
    countries = _countries()
    first_row: dict[str, int] = {}
    known = set(frame["supplier_id"].tolist()) - {""}
    for rec in frame.to_dict("records"):
        row = int(rec["row"])

        def bad(column: str, reason: str, value: str, row: int = row) -> None:
            out.append((row, column, value[:VALUE_CHARS], reason))

        for column in REQUIRED:
            if rec[column] == "":
                bad(column, "empty: every supplier needs one", "")
        for column in COLUMNS:
            if len(rec[column]) > MAX_TEXT:
                bad(column, f"longer than {MAX_TEXT} characters", rec[column])
        sid = rec["supplier_id"]
        if sid and sid in first_row:
            bad("supplier_id", f"repeats the supplier_id of row {first_row[sid]}", sid)
        elif sid:
            first_row[sid] = row
        country = rec["country"].upper()
        if country and country not in countries:
            bad("country", "not an ISO 3166-1 alpha-2 country code (e.g. CN, MY)", rec["country"])
        hts = rec["hts_code"]
        if hts and not _HTS.match(hts):
            bad("hts_code", "not an HTS code of 6 to 10 digits (dots allowed)", hts)
        tier = rec["tier"]
        if tier and not (tier.isdigit() and 1 <= int(tier) <= MAX_TIER):
            bad("tier", f"not a whole number from 1 to {MAX_TIER}", tier)
        for customer in split_ids(rec["supplies_to"]):
            if customer not in known:
                bad("supplies_to", f"names no supplier_id of the list: {customer!r}",
                    rec["supplies_to"])  # fmt: skip
                break
    return out


def split_ids(value: str) -> list[str]:
    """The customer ids of a ``supplies_to`` cell (``|``-separated, blanks ignored)."""
    return [part.strip() for part in value.split("|") if part.strip()]
