"""Validate entry lines against the contract: the reader's pure core, without any I/O.

:func:`validate_lines` takes text cells (a frame of text, or columns of texts as a JSON
request gives them) and returns the good rows as :class:`~models.contract.batch.Lines` and
a report of the bad ones; :func:`validate_chunk` adds a column mapping and the quarantine
rows, for a chunk of a file (the reader and the Spark engine call it). How problems are
reported is described in ``docs/data-contract.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from models.contract.batch import TEXT_DTYPE, Column, Lines
from models.contract.checks import RawColumns, cells_of, check_column, check_labels
from models.contract.columns import COLUMNS, REQUIRED, REQUIRED_LABELS, Kind, MissingColumnError
from models.contract.duplicates import SeenKeys, check_duplicates
from models.contract.mapping import ColumnMapping
from models.contract.problems import Problems, empty_report
from models.contract.text import unknown_text


class ReadResult:
    """Good rows as :class:`Lines`, and the report of the bad ones.

    Attributes:
        lines: Good rows only, every contract column present, in input order.
        bad_rows: One row per (row, column) problem: ``row, column, value, reason, source``.
        n_read: Rows read in total (good + bad; blank lines are not rows).
        quarantine_path: Where bad rows were written, if any.
    """

    __slots__ = ("_frame", "bad_rows", "lines", "n_read", "quarantine_path")

    def __init__(
        self,
        lines: Lines,
        bad_rows: pd.DataFrame,
        n_read: int,
        quarantine_path: Path | None = None,
    ) -> None:
        self.lines = lines
        self.bad_rows = bad_rows
        self.n_read = n_read
        self.quarantine_path = quarantine_path
        self._frame: pd.DataFrame | None = None

    @property
    def passthrough(self) -> dict[str, str]:
        """Pass-through feature columns: name -> ``"categorical"`` | ``"numeric"``."""
        return self.lines.passthrough

    @property
    def frame(self) -> pd.DataFrame:
        """The good rows as a DataFrame (an adapter for reports, notebooks and files)."""
        if self._frame is None:
            self._frame = self.lines.to_frame()
        return self._frame

    def __repr__(self) -> str:
        return (
            f"ReadResult(n_read={self.n_read}, bad_rows={len(self.bad_rows)}, "
            f"quarantine_path={self.quarantine_path!r})"
        )


def _validate(
    raw: RawColumns,
    rows: np.ndarray,
    *,
    require_labels: bool,
    passthrough: dict[str, str],
    source: str,
    seen: SeenKeys | None,
) -> tuple[ReadResult, np.ndarray]:
    """Validate ``raw`` (contract names); return the result and the bad rows' positions.

    ``raw`` is a frame of text, or columns of texts (``None``: missing) of ``len(rows)`` each.
    """
    names = list(raw.columns) if isinstance(raw, pd.DataFrame) else list(raw)
    needed = [*REQUIRED, *(REQUIRED_LABELS if require_labels else ())]
    absent = [c for c in [*needed, *passthrough] if c not in names]
    if absent:
        raise MissingColumnError(absent)
    n = len(rows)
    p = Problems()
    out: dict[str, Column] = {}
    for col in COLUMNS:
        if col.label:
            continue
        if col.name in raw:
            out[col.name] = check_column(col.name, cells_of(raw, col.name, p), p)
        else:  # absent optional column: all unknown, so downstream sees every column
            out[col.name] = np.full(n, np.nan) if col.kind is Kind.NUMBER else unknown_text(n)
    out.update(check_labels(raw, n, p))
    out.setdefault("inspection_reason", unknown_text(n))
    out.setdefault("violation", np.full(n, np.nan))
    for name, kind in passthrough.items():
        t = cells_of(raw, name, p)
        if kind == "numeric":
            x = t.numbers()
            why = [
                f"not a finite number: '{v}'" if v is not None and not fin else None
                for v, fin in zip(t.clean, np.isfinite(x).tolist(), strict=True)
            ]
            p.flag_values(name, t, why)
            out[name] = x[t.codes]
        else:
            out[name] = t.as_text(t.clean)
    line_no = np.asarray(out["line_no"], dtype="float64")
    check_duplicates(p.texts["entry_id"], line_no, rows, p, source, seen)
    bad = p.bad_positions()
    # Each text column's distinct values as validation found them, for signals and
    # features to factorise nothing again (``Lines.factors``).
    found = {c: t.distinct for c, t in p.texts.items() if t.distinct is not None}
    lines = Lines(out, n, passthrough, distinct=found)
    if len(bad):
        good = np.ones(n, dtype=bool)
        good[bad] = False
        lines = lines.take(np.flatnonzero(good))
    lines = lines.with_columns({"line_no": np.asarray(lines["line_no"]).astype("int64")})
    report = p.report(names, rows, source) if len(bad) else empty_report()
    return ReadResult(lines, report, n_read=n), bad


def _as_text(s: pd.Series) -> pd.Series:
    """A column as text. JSON nulls turn int columns into floats; write 2.0 back as '2'."""
    if pd.api.types.is_float_dtype(s.dtype):
        x = s.to_numpy(dtype="float64")
        finite = x[np.isfinite(x)]
        if len(finite) and (finite == np.round(finite)).all() and np.abs(finite).max() < 2**53:
            return s.astype("Int64").astype("str")
    return s.astype("str")


def validate_lines(
    raw: pd.DataFrame | Mapping[str, Sequence[str | None]],
    *,
    require_labels: bool = False,
    passthrough: dict[str, str] | None = None,
    source: str = "<lines>",
    row_offset: int = 1,
) -> ReadResult:
    """Validate contract columns of text without any I/O.

    Args:
        raw: A frame with one row per entry line (cells of other types are converted to
            text first), or column name -> one text per row (``None``: missing), as a JSON
            request gives them.
        require_labels: Refuse lines without the ``inspected`` and ``violation`` columns.
        passthrough: Extra feature columns to keep: name -> ``"categorical"`` | ``"numeric"``.
        source: Name used in the report.
        row_offset: Row number of the first row (1: 1-based position; 2: CSV line numbers).

    Returns:
        The good rows, normalised, and the report of the bad ones (nothing is written).

    Raises:
        MissingColumnError: A required column is absent.
        ValueError: The columns differ in length.
    """
    if isinstance(raw, pd.DataFrame):
        n = len(raw)
        if not all(dt == TEXT_DTYPE for dt in raw.dtypes):
            raw = pd.DataFrame({c: _as_text(raw[c]) for c in raw.columns}, index=raw.index)
    else:
        lengths = {len(v) for v in raw.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
    rows = np.arange(row_offset, row_offset + n, dtype=np.int64)
    result, _ = _validate(
        raw, rows, require_labels=require_labels, passthrough=dict(passthrough or {}),
        source=source, seen=None,
    )  # fmt: skip
    return result


def validate_chunk(
    original: pd.DataFrame,
    rows: np.ndarray,
    mapping: ColumnMapping | None,
    *,
    require_labels: bool,
    source: str,
    seen: SeenKeys,
) -> tuple[ReadResult, pd.DataFrame | None]:
    """Map and validate one chunk of a file; the public chunk API of the reader and Spark.

    Args:
        original: The chunk's rows as read (text), before any mapping.
        rows: Row number of each row of ``original`` (CSV line numbers, Parquet positions).
        mapping: The column mapping of a foreign layout, or None for the contract's.
        require_labels: Refuse a chunk without the ``inspected`` and ``violation`` columns.
        source: File name used in the report.
        seen: Keys of earlier chunks and files, for duplicates across them (updated).

    Returns:
        The result, and the quarantine rows (``original``'s bad rows with their reasons), or
        None when every row is good.
    """
    raw = mapping.apply(original, require_labels=require_labels) if mapping else original
    kinds = mapping.passthrough_kinds if mapping else {}
    result, bad = _validate(
        raw, rows, require_labels=require_labels, passthrough=kinds, source=source, seen=seen
    )
    quarantine = quarantine_frame(original, result.bad_rows, rows) if len(bad) else None
    return result, quarantine


def quarantine_frame(
    original: pd.DataFrame, bad_rows: pd.DataFrame, rows: np.ndarray
) -> pd.DataFrame:
    """The bad rows of ``original`` with ``_row``, ``_column`` and ``_reason`` appended.

    Args:
        original: The rows as read from the file (before any mapping), positionally aligned.
        bad_rows: The report for those rows.
        rows: Row number of each row of ``original``.

    Returns:
        One row per bad original row; several problems are joined with ``"; "``.
    """
    # Rows in order, each row's problems in report order; joined in Python only for the rows
    # with several (a groupby join costs ~0.3 ms a row: minutes for a million bad rows).
    order = np.argsort(bad_rows["row"].to_numpy(), kind="stable")
    row_of = bad_rows["row"].to_numpy()[order]
    column = bad_rows["column"].astype(object).to_numpy()[order]
    reason = (bad_rows["column"] + ": " + bad_rows["reason"]).astype(object).to_numpy()[order]
    bad, first, count = np.unique(row_of, return_index=True, return_counts=True)
    columns, reasons = column[first], reason[first]
    for i in np.flatnonzero(count > 1).tolist():
        part = slice(first[i], first[i] + count[i])
        columns[i], reasons[i] = "; ".join(column[part]), "; ".join(reason[part])
    pos = np.searchsorted(rows, bad)
    out = original.iloc[pos].reset_index(drop=True).copy()
    out["_row"] = bad
    out["_column"] = pd.array(columns, dtype=TEXT_DTYPE)
    out["_reason"] = pd.array(reasons, dtype=TEXT_DTYPE)
    return out
