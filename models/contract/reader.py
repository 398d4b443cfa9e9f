"""Read entry-line files, validate them against the contract, quarantine the bad rows.

Everything is read as text first and validated column by column with vectorised pandas, so
nothing is coerced silently; Python loops run over bad rows only. :func:`validate_frame` is
the pure core; :func:`read_entry_lines` and :func:`iter_entry_lines` add files, mappings and
the quarantine file. How problems are reported is described in ``docs/data-contract.md``.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models.contract.columns import (
    BY_NAME,
    COLUMNS,
    FALSE_VALUES,
    INSPECTION_REASONS,
    REQUIRED,
    REQUIRED_LABELS,
    TRANSPORT_MODES,
    TRUE_VALUES,
    BadRowsError,
    ContractError,
    Kind,
    MissingColumnError,
    country_codes,
)
from models.contract.mapping import ColumnMapping, load_mapping
from models.features.textcase import case_map

__all__ = [
    "BadRowsError",
    "ContractError",
    "MissingColumnError",
    "ReadResult",
    "iter_entry_lines",
    "read_entry_lines",
    "validate_frame",
    "validate_records",
    "write_quarantine",
]

REPORT_COLUMNS = ("row", "column", "value", "reason", "source")
QUARANTINE_COLUMNS = ("_row", "_column", "_reason")
_DATE_MIN, _DATE_MAX = pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-11")
_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?"


class ReadResult:
    """Good rows with normalised dtypes, and the report of the bad ones.

    Attributes:
        frame: Good rows only, every contract column present, index reset. Built on first
            access when the reader gave ``arrays``: scoring a few lines never needs it, and
            building it costs as much as validating them.
        bad_rows: One row per (row, column) problem: ``row, column, value, reason, source``.
        passthrough: Pass-through feature columns: name -> ``"categorical"`` | ``"numeric"``.
        n_read: Rows read in total (good + bad; blank lines are not rows).
        quarantine_path: Where bad rows were written, if any.
        arrays: For a few rows validated from records, each column of ``frame`` as the
            NumPy array ``frame[c].to_numpy()`` gives; None otherwise.
    """

    __slots__ = ("_frame", "arrays", "bad_rows", "n_read", "passthrough", "quarantine_path")

    def __init__(
        self,
        frame: pd.DataFrame | Callable[[], pd.DataFrame],
        bad_rows: pd.DataFrame,
        passthrough: dict[str, str],
        n_read: int,
        quarantine_path: Path | None = None,
        arrays: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._frame = frame
        self.bad_rows = bad_rows
        self.passthrough = passthrough
        self.n_read = n_read
        self.quarantine_path = quarantine_path
        self.arrays = arrays

    @property
    def frame(self) -> pd.DataFrame:
        """The good rows (see the class docstring)."""
        if not isinstance(self._frame, pd.DataFrame):
            self._frame = self._frame()
        return self._frame

    def __repr__(self) -> str:
        return (
            f"ReadResult(n_read={self.n_read}, bad_rows={len(self.bad_rows)}, "
            f"quarantine_path={self.quarantine_path!r})"
        )


_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_FEW = 64  # rows up to which per-row Python beats a vectorised kernel's fixed cost
_INT_RE = re.compile(r"\d{1,9}")
_DATE_FULL_RE = re.compile(_DATE_RE, re.ASCII)  # digits 0-9 only, not "٢٠٢٤"
_HTS_SEP_RE = re.compile(r"[.\s]")
_HTS_RE = re.compile(r"\d{6,10}")
_LOCODE_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{3}")
_PORT_RE = re.compile(r"\d{4}")


class _Text:
    """A text column factorised: each row's code into its distinct values.

    Checks run once per distinct value, so a column costs the same few calls for one row or
    a million. ``raw`` holds the distinct texts as given and ``clean`` the same stripped,
    blank as ``None`` (unknown); the last entry of both is ``None``, the code of a missing
    cell, so every code is a valid index.
    """

    def __init__(self, s: pd.Series | Sequence[str | None]) -> None:
        if isinstance(s, pd.Series):
            if s.dtype != _STR:
                s = s.astype("str")
            arr = pa.array(s.array)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            enc = pc.dictionary_encode(arr)
            distinct = enc.dictionary
            indices = enc.indices
            if indices.null_count:
                indices = indices.fill_null(len(distinct))
            codes = indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
            self.raw: list[str | None] = [*distinct.to_pylist(), None]
            stripped = pc.utf8_trim_whitespace(distinct).to_pylist()
        else:
            # A few JSON lines: a dict factorises them faster than any frame machinery.
            index: dict[str, int] = {}
            seq = [len(s) if v is None else index.setdefault(v, len(index)) for v in s]
            codes = np.array(seq, dtype=np.intp)
            codes[codes == len(s)] = len(index)
            self.raw = [*index, None]
            # str.strip and Arrow's trim remove the same characters (every code point was
            # compared), and for a few values Python skips Arrow's per-call cost.
            stripped = [v.strip() for v in index]
        self.clean: list[str | None] = [v if v else None for v in stripped] + [None]
        self.codes: np.ndarray = codes

    def present(self) -> np.ndarray:
        """Per distinct value: not unknown."""
        return np.array([v is not None for v in self.clean], dtype=bool)

    def mapped(self, fn: str) -> list[str | None]:
        """The clean values through Arrow's ``utf8_upper`` or ``utf8_lower``."""
        return case_map(self.clean, fn)

    def numbers(self, values: list[str | None] | None = None) -> np.ndarray:
        """Per distinct value: ``pd.to_numeric`` of the clean text (NaN if not a number)."""
        obj = np.array(self.clean if values is None else values, dtype=object)
        return np.asarray(pd.to_numeric(obj, errors="coerce"), dtype="float64")


def _str_array(values: list[str | None], codes: np.ndarray) -> _Array:
    """Text of each row from its code (``None``: unknown).

    Many rows give pandas ``str``; a few give the object array (``NaN``: unknown) that the
    column's ``to_numpy()`` would, and :func:`_frame_of` turns it into ``str``.
    """
    if len(codes) <= _FEW:  # Python's indexing beats Arrow's take kernel for a few rows
        nan_for_none = [np.nan if v is None else v for v in values]
        taken = np.empty(len(codes), dtype=object)
        taken[:] = [nan_for_none[c] for c in codes.tolist()]
        return taken
    arr = pa.array(values, type=pa.large_string()).take(pa.array(codes))
    return pd.arrays.ArrowStringArray(arr, dtype=_STR)  # type: ignore[call-arg]


def _unknown_str(n: int) -> _Array:
    return _str_array([None], np.zeros(n, dtype=np.intp))


def _frame_of(columns: Mapping[str, _Array]) -> pd.DataFrame:
    """The frame of validated columns; object arrays (text of a few rows) become ``str``."""
    return pd.DataFrame(
        {
            c: pd.array(v, dtype=_STR) if isinstance(v, np.ndarray) and v.dtype == object else v
            for c, v in columns.items()
        }
    )


class _Problems:
    """Collects (position, column, reason) problems; each (row, column) is kept once."""

    def __init__(self) -> None:
        self.by_column: dict[str, tuple[np.ndarray, list[str]]] = {}
        self.texts: dict[str, _Text] = {}

    def add(self, column: str, pos: np.ndarray, reasons: list[str]) -> None:
        """Flag rows at positions ``pos`` (ascending) unless already flagged in ``column``."""
        seen = self.by_column.get(column)
        if seen is not None and len(pos):
            keep = ~np.isin(pos, seen[0])
            pos, reasons = pos[keep], [r for r, k in zip(reasons, keep.tolist(), strict=True) if k]
        if len(pos) == 0:
            return
        if seen is not None:
            pos, reasons = np.concatenate([seen[0], pos]), seen[1] + reasons
        self.by_column[column] = (pos, reasons)

    def flag_values(self, column: str, t: _Text, why: list[str | None]) -> None:
        """Flag rows whose distinct value has a reason (``why``: one per distinct value)."""
        bad = np.array([w is not None for w in why], dtype=bool)
        if not bad.any():
            return
        pos = np.flatnonzero(bad[t.codes])
        self.add(column, pos, [why[c] for c in t.codes[pos].tolist()])  # type: ignore[misc]

    def flag_rows(self, column: str, t: _Text, mask: np.ndarray, why: str) -> None:
        """Flag rows where ``mask``; ``why`` is formatted with ``{v}`` = the cell's clean text."""
        pos = np.flatnonzero(mask)
        if len(pos):
            self.add(column, pos, [why.format(v=t.clean[c]) for c in t.codes[pos].tolist()])

    def bad_positions(self) -> np.ndarray:
        """Sorted positions of rows with at least one problem."""
        parts = [pos for pos, _ in self.by_column.values()]
        return np.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)

    def report(self, columns: Sequence[str], rows: np.ndarray, source: str) -> pd.DataFrame:
        """The bad-row report, sorted by row then column order (``columns``)."""
        order = {c: i for i, c in enumerate(columns)}
        recs: list[tuple[int, int, str, str, str]] = []
        for column, (pos, reasons) in self.by_column.items():
            t = self.texts[column]
            values = [t.raw[c] or "" for c in t.codes[pos].tolist()]
            o = order[column]
            recs += [
                (r, o, column, v, why)
                for r, v, why in zip(rows[pos].tolist(), values, reasons, strict=True)
            ]
        recs.sort(key=lambda rec: (rec[0], rec[1]))
        return pd.DataFrame(
            {
                "row": np.array([r[0] for r in recs], dtype=np.int64),
                "column": pd.array([r[2] for r in recs], dtype=_STR),
                "value": pd.array([r[3] for r in recs], dtype=_STR),
                "reason": pd.array([r[4] for r in recs], dtype=_STR),
                "source": pd.array([source] * len(recs), dtype=_STR),
            }
        )


@lru_cache(maxsize=1)
def _empty_report_template() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in REPORT_COLUMNS})
    return df.astype({"row": "int64"})


def _empty_report() -> pd.DataFrame:
    return _empty_report_template().copy()


_Array = np.ndarray | pd.api.extensions.ExtensionArray
# Dates datetime64[ns] can hold (a year like 0001 or 9999 would overflow: a bad date).
_DAY_MIN, _DAY_MAX = _DATE_MIN.date(), _DATE_MAX.date()


def _date(v: str | None) -> datetime.date | None:
    """The calendar date of a contract date text, or None if it is not one.

    Plain Python per distinct value: one ``pd.to_datetime`` call costs ~300 us whatever
    the size, more than all the other checks of a line together.
    """
    if v is None or not _DATE_FULL_RE.fullmatch(v):
        return None
    try:
        d = datetime.date.fromisoformat(v[:10])  # the regex leaves YYYY-MM-DD only
    except ValueError:  # month 13, 30 February, year 0000
        return None
    return d if _DAY_MIN <= d <= _DAY_MAX else None


def _check_column(name: str, t: _Text, p: _Problems) -> _Array:
    """Validate one contract column (factorised text) and return it normalised."""
    kind = BY_NAME[name].kind
    present = t.present()
    if BY_NAME[name].required:
        p.flag_values(name, t, [None if v else "missing required value" for v in present])
    clean = t.clean
    if kind in (Kind.ID, Kind.TEXT):
        return _str_array(clean, t.codes)
    if kind is Kind.INTEGER:
        cand = [v if v is not None and _INT_RE.fullmatch(v) else None for v in clean]
        n = t.numbers(cand)
        good = n >= 1
        why = [
            f"not an integer >= 1: '{v}'" if v is not None and not g else None
            for v, g in zip(clean, good.tolist(), strict=True)
        ]
        p.flag_values(name, t, why)
        return np.where(good, n, np.nan)[t.codes]
    if kind is Kind.DATE:
        days = [_date(v) for v in clean]
        why = [
            f"unparseable date '{v}'" if v is not None and d is None else None
            for v, d in zip(clean, days, strict=True)
        ]
        p.flag_values(name, t, why)
        return np.array(days, dtype="datetime64[ns]")[t.codes]  # None -> NaT
    if kind is Kind.HTS:
        digits = [None if v is None else _HTS_SEP_RE.sub("", v) for v in clean]
        why = [
            f"not an HTS code of 6 to 10 digits: '{v}'"
            if v is not None and not _HTS_RE.fullmatch(dg or "")
            else None
            for v, dg in zip(clean, digits, strict=True)
        ]
        p.flag_values(name, t, why)
        return _str_array(digits, t.codes)
    if kind is Kind.COUNTRY:
        up = t.mapped("utf8_upper")
        codes = country_codes()
        why = [
            f"not an ISO 3166-1 alpha-2 code: '{v}'" if v is not None and u not in codes else None
            for v, u in zip(clean, up, strict=True)
        ]
        p.flag_values(name, t, why)
        return _str_array(up, t.codes)
    if kind is Kind.LOCODE:
        up = [None if u is None else u.replace(" ", "") for u in t.mapped("utf8_upper")]
        codes = country_codes()
        why = [
            f"not a UN/LOCODE (country + 3 characters): '{v}'"
            if v is not None and not (_LOCODE_RE.fullmatch(u or "") and (u or "")[:2] in codes)
            else None
            for v, u in zip(clean, up, strict=True)
        ]
        p.flag_values(name, t, why)
        return _str_array(up, t.codes)
    if kind is Kind.PORT:
        why = [
            f"not a 4-digit CBP port code: '{v}'"
            if v is not None and not _PORT_RE.fullmatch(v)
            else None
            for v in clean
        ]
        p.flag_values(name, t, why)
        return _str_array(clean, t.codes)
    if kind is Kind.TRANSPORT:
        low = t.mapped("utf8_lower")
        modes = "/".join(sorted(TRANSPORT_MODES))
        why = [
            f"not one of {modes}: '{v}'" if v is not None and lw not in TRANSPORT_MODES else None
            for v, lw in zip(clean, low, strict=True)
        ]
        p.flag_values(name, t, why)
        return _str_array(low, t.codes)
    if kind is Kind.NUMBER:
        x = t.numbers()
        ok = np.isfinite(x) & (x >= 0)
        why = [
            f"not a finite number >= 0: '{v}'" if v is not None and not g else None
            for v, g in zip(clean, ok.tolist(), strict=True)
        ]
        p.flag_values(name, t, why)
        return x[t.codes]
    raise AssertionError(f"label or unknown kind {kind}")  # labels are checked in _check_labels


_Raw = pd.DataFrame | Mapping[str, Sequence[str | None]]


def _text(raw: _Raw, name: str, p: _Problems) -> _Text:
    t = _Text(raw[name])
    p.texts[name] = t
    return t


def _check_labels(raw: _Raw, n: int, p: _Problems) -> dict[str, _Array]:
    """Validate the label columns and the rules that tie them together."""
    out: dict[str, _Array] = {}
    if "inspected" in raw:
        t = _text(raw, "inspected", p)
        low = t.mapped("utf8_lower")
        why = [
            "missing value (expected true/false)"
            if v is None
            else None
            if lw in TRUE_VALUES or lw in FALSE_VALUES
            else f"not a boolean (true/false/1/0/yes/no): '{v}'"
            for v, lw in zip(t.clean, low, strict=True)
        ]
        p.flag_values("inspected", t, why)
        out["inspected"] = np.array([lw in TRUE_VALUES for lw in low], dtype=bool)[t.codes]
        not_inspected = np.array([lw in FALSE_VALUES for lw in low], dtype=bool)[t.codes]
    else:
        # No label columns: a scoring file. Its lines were not inspected as far as we know.
        out["inspected"] = np.zeros(n, dtype=bool)
        not_inspected = np.ones(n, dtype=bool)
    if "inspection_reason" in raw:
        t = _text(raw, "inspection_reason", p)
        low = t.mapped("utf8_lower")
        why = [
            f"not one of random/targeted/tip: '{v}'"
            if v is not None and lw not in INSPECTION_REASONS
            else None
            for v, lw in zip(t.clean, low, strict=True)
        ]
        p.flag_values("inspection_reason", t, why)
        unexpected = t.present()[t.codes] & not_inspected
        p.flag_rows("inspection_reason", t, unexpected, "set on a line not inspected: '{v}'")
        out["inspection_reason"] = _str_array(low, t.codes)
    if "violation" in raw:
        t = _text(raw, "violation", p)
        # pandas writes a 0/1 column holding NaN as 0.0/1.0, so accept those spellings too.
        x = t.numbers()
        ok = (x == 0.0) | (x == 1.0)
        why = [
            f"not 1, 0 or empty: '{v}'" if v is not None and not g else None
            for v, g in zip(t.clean, ok.tolist(), strict=True)
        ]
        p.flag_values("violation", t, why)
        unexpected = t.present()[t.codes] & not_inspected
        p.flag_rows("violation", t, unexpected, "set on a line not inspected: '{v}'")
        out["violation"] = x[t.codes]
    return out


def _first_seen(where: tuple[str, int], source: str) -> str:
    return f"row {where[1]}" if where[0] == source else f"row {where[1]} of {where[0]}"


class SeenKeys:
    """First occurrence (file, row) of every (entry_id, line_no) key read so far.

    Tens of millions of keys would take gigabytes as a dict of strings and make every
    membership test slower; this keeps two independent 64-bit hashes per key (a 128-bit
    fingerprint: a false duplicate is astronomically unlikely) in sorted NumPy arrays,
    about 28 bytes per key.
    """

    def __init__(self) -> None:
        self._h1 = np.empty(0, dtype=np.uint64)
        self._h2 = np.empty(0, dtype=np.uint64)
        self._row = np.empty(0, dtype=np.int64)
        self._src = np.empty(0, dtype=np.int32)
        self._sources: list[str] = []

    def __len__(self) -> int:
        return len(self._h1)

    @staticmethod
    def fingerprint(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Two independent 64-bit hashes of each key (valid within this process only).

        Python's string hash (SipHash, salted per process) is the fastest hash at hand; the
        second hash is of a different string, so the two are independent.
        """
        n = len(keys)
        h1 = np.fromiter(map(hash, keys), dtype=np.int64, count=n)
        h2 = np.fromiter((hash(k + "\x1e") for k in keys), dtype=np.int64, count=n)
        return h1.view(np.uint64), h2.view(np.uint64)

    def find(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Position of each fingerprint among the seen keys, -1 when not seen."""
        if not len(self._h1) or not len(h1):
            return np.full(len(h1), -1, dtype=np.intp)
        pos = np.minimum(np.searchsorted(self._h1, h1), len(self._h1) - 1)
        hit = (self._h1[pos] == h1) & (self._h2[pos] == h2)
        return np.where(hit, pos, -1)

    def where(self, pos: int) -> tuple[str, int]:
        """(source, row) of the key at ``pos``."""
        return self._sources[int(self._src[pos])], int(self._row[pos])

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray, source: str) -> None:
        """Remember new keys (not seen before, each once) first seen at ``rows`` of ``source``."""
        if source not in self._sources:
            self._sources.append(source)
        src = np.full(len(h1), self._sources.index(source), dtype=np.int32)
        h1 = np.concatenate([self._h1, h1])
        # Stable sort of a sorted run plus a new one is a merge (Timsort), not a full sort.
        order = np.argsort(h1, kind="stable")
        self._h1 = h1[order]
        self._h2 = np.concatenate([self._h2, h2])[order]
        self._row = np.concatenate([self._row, rows.astype(np.int64)])[order]
        self._src = np.concatenate([self._src, src])[order]


def _check_duplicates(
    entry_id: _Text,
    line_no: np.ndarray,
    rows: np.ndarray,
    p: _Problems,
    source: str,
    seen: SeenKeys | None,
) -> None:
    """Flag later occurrences of an (entry_id, line_no) key, within and across chunks/files."""
    valid = entry_id.present()[entry_id.codes] & ~np.isnan(line_no)
    vpos = np.flatnonzero(valid)
    ids = entry_id.clean
    keys = [
        f"{ids[c]}\x1f{int(x)}"
        for c, x in zip(entry_id.codes[vpos].tolist(), line_no[vpos].tolist(), strict=True)
    ]
    kcodes, _ = pd.factorize(np.array(keys, dtype=object))
    _, first = np.unique(kcodes, return_index=True)
    later_v = np.ones(len(vpos), dtype=bool)
    later_v[first] = False
    later = np.zeros(len(valid), dtype=bool)
    later[vpos] = later_v
    first_row = np.zeros(len(valid), dtype=np.int64)
    first_row[vpos] = rows[vpos][first[kcodes]] if len(vpos) else []
    h1, h2 = SeenKeys.fingerprint(keys)
    found = np.full(len(valid), -1, dtype=np.intp)
    if seen is not None:
        found[vpos] = seen.find(h1, h2)
    dup = later | (found >= 0)
    if dup.any():
        pos = np.flatnonzero(dup)
        why = "duplicate (entry_id, line_no); first seen at {v}"
        reasons = [
            why.format(
                v=_first_seen(seen.where(f), source) if seen is not None and f >= 0 else f"row {r}"
            )
            for f, r in zip(found[pos].tolist(), first_row[pos].tolist(), strict=True)
        ]
        p.add("line_no", pos, reasons)
    if seen is not None:
        new = (valid & ~dup)[vpos]
        seen.add(h1[new], h2[new], rows[vpos][new], source)


def _validate(
    raw: _Raw,
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
    p = _Problems()
    out: dict[str, _Array] = {}
    for col in COLUMNS:
        if col.label:
            continue
        if col.name in raw:
            out[col.name] = _check_column(col.name, _text(raw, col.name, p), p)
        else:  # absent optional column: all unknown, so downstream sees every column
            out[col.name] = np.full(n, np.nan) if col.kind is Kind.NUMBER else _unknown_str(n)
    out.update(_check_labels(raw, n, p))
    out.setdefault("inspection_reason", _unknown_str(n))
    out.setdefault("violation", np.full(n, np.nan))
    for name, kind in passthrough.items():
        t = _text(raw, name, p)
        if kind == "numeric":
            x = t.numbers()
            why = [
                f"not a finite number: '{v}'" if v is not None and not fin else None
                for v, fin in zip(t.clean, np.isfinite(x).tolist(), strict=True)
            ]
            p.flag_values(name, t, why)
            out[name] = x[t.codes]
        else:
            out[name] = _str_array(t.clean, t.codes)
    line_no = np.asarray(out["line_no"], dtype="float64")
    _check_duplicates(p.texts["entry_id"], line_no, rows, p, source, seen)
    bad = p.bad_positions()
    if len(bad):
        good = np.ones(n, dtype=bool)
        good[bad] = False
        keep = np.flatnonzero(good)
        out = {k: v[keep] for k, v in out.items()}
    out["line_no"] = np.asarray(out["line_no"]).astype("int64")
    report = p.report(names, rows, source) if len(bad) else _empty_report()
    arrays = None
    if not isinstance(raw, pd.DataFrame) and n <= _FEW:
        arrays = {c: np.asarray(v) for c, v in out.items()}  # a few rows: NumPy already
        result = ReadResult(partial(_frame_of, out), report, dict(passthrough), n, arrays=arrays)
    else:
        result = ReadResult(_frame_of(out), report, dict(passthrough), n_read=n)
    return result, bad


def _as_text(s: pd.Series) -> pd.Series:
    """A column as text. JSON nulls turn int columns into floats; write 2.0 back as '2'."""
    if pd.api.types.is_float_dtype(s.dtype):
        x = s.to_numpy(dtype="float64")
        finite = x[np.isfinite(x)]
        if len(finite) and (finite == np.round(finite)).all() and np.abs(finite).max() < 2**53:
            return s.astype("Int64").astype("str")
    return s.astype("str")


def validate_frame(
    raw: pd.DataFrame,
    *,
    require_labels: bool = False,
    passthrough: dict[str, str] | None = None,
    source: str = "<frame>",
    row_offset: int = 1,
) -> ReadResult:
    """Validate a frame of contract columns (values as text) without any I/O.

    Args:
        raw: One row per entry line; cells as text (other types are converted to text first).
        require_labels: Refuse a frame without the ``inspected`` and ``violation`` columns.
        passthrough: Extra feature columns to keep: name -> ``"categorical"`` | ``"numeric"``.
        source: Name used in the report.
        row_offset: Row number of the first row (1: 1-based position; 2: CSV line numbers).

    Returns:
        The good rows, normalised, and the report of the bad ones (nothing is written).

    Raises:
        MissingColumnError: A required column is absent.
    """
    rows = np.arange(row_offset, row_offset + len(raw), dtype=np.int64)
    if all(dt == _STR for dt in raw.dtypes):
        text = raw  # already text: no copy
    else:
        text = pd.DataFrame({c: _as_text(raw[c]) for c in raw.columns}, index=raw.index)
    kinds = passthrough or {}
    result, _ = _validate(
        text, rows, require_labels=require_labels, passthrough=kinds, source=source, seen=None
    )
    return result


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
    described = bad_rows.assign(reason=bad_rows["column"] + ": " + bad_rows["reason"])
    agg = described.groupby("row", sort=True).agg(
        _column=("column", "; ".join), _reason=("reason", "; ".join)
    )
    pos = np.searchsorted(rows, agg.index.to_numpy())
    out = original.iloc[pos].reset_index(drop=True).copy()
    out["_row"] = agg.index.to_numpy()
    out["_column"] = agg["_column"].to_numpy()
    out["_reason"] = agg["_reason"].to_numpy()
    return out


def write_quarantine(quarantine: pd.DataFrame, path: Path, *, append: bool = False) -> None:
    """Write (or append) quarantined rows as CSV.

    Raises:
        ContractError: The file cannot be written; reading never goes on without the record.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = not (append and path.exists())
        quarantine.to_csv(path, index=False, mode="a" if append else "w", header=header)
    except OSError as exc:
        raise ContractError(f"cannot write the quarantine file {path}: {exc}") from exc


def parquet_text(table: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """A Parquet table as text columns (ints stay '3', dates become '2024-03-14').

    Public chunk API: the Spark engine turns each Arrow batch into the reader's text form
    with it before :func:`validate_chunk`.
    """
    cols = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        cols[name] = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
    return pa.table(cols).to_pandas().astype("str")


def _duplicates(names: Sequence[str]) -> list[str]:
    return sorted({n for n in names if list(names).count(n) > 1})


def _check_csv_header(path: Path) -> None:
    """Refuse a header naming a column twice (pandas would silently rename one ``x.1``)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        raise ContractError(f"{path}: duplicate column(s) {_duplicates(names)} in the header")


def _raw_chunks(path: Path, chunk_rows: int | None) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Yield (text frame, row numbers) chunks of a CSV or Parquet file; blank lines skipped."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        start = 1  # Parquet has no lines: rows are numbered by 1-based position.
        try:
            with pq.ParquetFile(path) as pf:
                names = pf.schema_arrow.names
                if len(set(names)) != len(names):
                    raise ContractError(f"{path}: duplicate column(s) {_duplicates(names)}")
                batches = pf.iter_batches(batch_size=chunk_rows) if chunk_rows else [pf.read()]
                for batch in batches:
                    df = parquet_text(batch)
                    yield df, np.arange(start, start + len(df), dtype=np.int64)
                    start += len(df)
        except (pa.ArrowException, OSError) as exc:  # not Parquet, truncated, unreadable type
            raise ContractError(f"{path}: cannot read as Parquet: {exc}") from exc
        return
    if suffix not in (".csv", ".txt"):
        raise ContractError(f"{path}: unsupported file type '{suffix}' (use .csv or .parquet)")
    # na_filter=False: 'NA' is Namibia, not missing. Blank lines are kept so row numbers are
    # the editor's line numbers (header = line 1), and dropped below.
    start = 2
    try:
        _check_csv_header(path)
        with pd.read_csv(
            path,
            dtype=str,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            iterator=True,
            chunksize=chunk_rows,
        ) as reader:
            for df in reader if chunk_rows else [reader.read()]:
                rows = np.arange(start, start + len(df), dtype=np.int64)
                start += len(df)
                blank = (df == "").all(axis=1).to_numpy()
                yield df[~blank].reset_index(drop=True), rows[~blank]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise ContractError(f"{path}: cannot parse as UTF-8 CSV: {exc}") from exc


def _resolve(mapping: ColumnMapping | Path | str | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    return load_mapping(mapping)


def validate_chunk(
    original: pd.DataFrame,
    rows: np.ndarray,
    mapping: ColumnMapping | None,
    *,
    require_labels: bool,
    source: str,
    seen: SeenKeys,
) -> tuple[ReadResult, pd.DataFrame | None]:
    """Map and validate one chunk of text columns, as every reader path does.

    Public chunk API: the Spark engine validates each partition batch with it, so a line
    is checked exactly as ``flrisk score`` checks it.

    Args:
        original: The chunk as read (text columns, source layout).
        rows: Source row numbers of the chunk's lines (for problem reports).
        mapping: Column mapping for another layout, or None.
        require_labels: Whether the label columns must be present.
        source: Name of the input, for problem reports.
        seen: Keys already seen in earlier chunks (duplicate detection across chunks).

    Returns:
        The validated lines and bad rows, and the quarantine frame (None without bad rows).
    """
    raw = mapping.apply(original, require_labels=require_labels) if mapping else original
    kinds = mapping.passthrough_kinds if mapping else {}
    result, bad = _validate(
        raw, rows, require_labels=require_labels, passthrough=kinds, source=source, seen=seen
    )
    quarantine = quarantine_frame(original, result.bad_rows, rows) if len(bad) else None
    return result, quarantine


def _default_quarantine(path: Path) -> Path:
    return path.with_name(f"{path.stem}.quarantine.csv")


def read_entry_lines(
    paths: Path | str | Sequence[Path | str],
    mapping: ColumnMapping | Path | str | None = None,
    *,
    allow_bad_rows: bool = False,
    quarantine_path: Path | None = None,
    require_labels: bool = False,
) -> ReadResult:
    """Read, map and validate one or more CSV/Parquet files of entry lines.

    Args:
        paths: A file or several (concatenated; row numbers are per file).
        mapping: A column mapping (or its TOML path) for a foreign layout.
        allow_bad_rows: Return the good rows when some are bad instead of raising.
        quarantine_path: Where to write bad rows; default ``<first stem>.quarantine.csv``
            beside the first input.
        require_labels: Refuse files without the ``inspected`` and ``violation`` columns.

    Returns:
        Good rows of all files and the report of the bad ones.

    Raises:
        MissingColumnError: A required or mapped column is absent.
        BadRowsError: Bad rows exist and ``allow_bad_rows`` is False (after quarantining).
        ContractError: A file is unreadable or the quarantine cannot be written.
    """
    plist = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not plist:
        raise ContractError("no input files given")
    cmap = _resolve(mapping)
    seen = SeenKeys()
    results, quarantines = [], []
    for path in plist:
        for original, rows in _raw_chunks(path, None):
            result, quarantine = validate_chunk(
                original, rows, cmap, require_labels=require_labels, source=path.name, seen=seen
            )
            results.append(result)
            if quarantine is not None:
                # Several inputs: say which file each quarantined row came from.
                quarantines.append(
                    quarantine.assign(_source=path.name) if len(plist) > 1 else quarantine
                )
    frame = pd.concat([r.frame for r in results], ignore_index=True)
    bad_rows = pd.concat([r.bad_rows for r in results], ignore_index=True)
    qpath = None
    if quarantines:
        qpath = quarantine_path or _default_quarantine(plist[0])
        write_quarantine(pd.concat(quarantines, ignore_index=True), qpath)
        if not allow_bad_rows:
            raise BadRowsError(bad_rows, qpath)
    kinds = cmap.passthrough_kinds if cmap else {}
    return ReadResult(frame, bad_rows, kinds, sum(r.n_read for r in results), qpath)


def iter_entry_lines(
    path: Path | str,
    mapping: ColumnMapping | Path | str | None = None,
    *,
    chunk_rows: int = 500_000,
    allow_bad_rows: bool = False,
    quarantine_path: Path | None = None,
    require_labels: bool = False,
) -> Iterator[ReadResult]:
    """Read one large file in chunks of at most ``chunk_rows`` rows, for bounded memory.

    Row numbers and duplicate detection span the whole file. Bad rows are appended to the
    quarantine file chunk by chunk; without ``allow_bad_rows`` the first chunk holding bad
    rows raises :class:`BadRowsError` after its rows are quarantined.

    Args:
        path: A CSV or Parquet file.
        mapping: A column mapping (or its TOML path) for a foreign layout.
        chunk_rows: Rows per chunk.
        allow_bad_rows: Go on with the good rows when some are bad.
        quarantine_path: Where to write bad rows; default ``<stem>.quarantine.csv`` beside it.
        require_labels: Refuse a file without the ``inspected`` and ``violation`` columns.

    Yields:
        One result per chunk; ``quarantine_path`` is set once bad rows have been written.

    Raises:
        MissingColumnError: A required or mapped column is absent.
        BadRowsError: Bad rows exist and ``allow_bad_rows`` is False.
        ContractError: The file is unreadable or the quarantine cannot be written.
    """
    path = Path(path)
    cmap = _resolve(mapping)
    seen = SeenKeys()
    qpath: Path | None = None
    for original, rows in _raw_chunks(path, chunk_rows):
        result, quarantine = validate_chunk(
            original, rows, cmap, require_labels=require_labels, source=path.name, seen=seen
        )
        if quarantine is not None:
            append = qpath is not None
            qpath = quarantine_path or _default_quarantine(path)
            write_quarantine(quarantine, qpath, append=append)
            if not allow_bad_rows:
                raise BadRowsError(result.bad_rows, qpath)
        yield ReadResult(result.frame, result.bad_rows, result.passthrough, result.n_read, qpath)


def validate_records(
    columns: Mapping[str, Sequence[str | None]],
    *,
    require_labels: bool = False,
    passthrough: dict[str, str] | None = None,
    source: str = "<records>",
    row_offset: int = 1,
) -> ReadResult:
    """:func:`validate_frame` for columns of texts, as JSON requests give them.

    The same checks and the same result as ``validate_frame`` on a frame of these texts,
    without building that frame first (which costs more than validating a few lines).

    Args:
        columns: Column name -> one text per row (``None`` for a missing value); all of
            the same length.
        require_labels: As in :func:`validate_frame`.
        passthrough: As in :func:`validate_frame`.
        source: Name used in the report.
        row_offset: Row number of the first row.

    Returns:
        The good rows, normalised, and the report of the bad ones.

    Raises:
        MissingColumnError: A required column is absent.
        ValueError: The columns differ in length.
    """
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    rows = np.arange(row_offset, row_offset + n, dtype=np.int64)
    result, _ = _validate(
        columns, rows, require_labels=require_labels, passthrough=passthrough or {},
        source=source, seen=None,
    )  # fmt: skip
    return result
