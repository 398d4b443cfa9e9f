"""Read entry-line files (CSV or Parquet), validate them, quarantine the bad rows.

Everything is read as text first and validated column by column
(``models.contract.validate``), so nothing is coerced silently. :func:`read_entry_lines`
reads whole files, :func:`iter_entry_lines` one large file in chunks of bounded memory; both
write the quarantine file. How problems are reported is described in
``docs/data-contract.md``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.contract.batch import Lines
from models.contract.columns import BadRowsError, ContractError, MissingColumnError
from models.contract.duplicates import SeenKeys
from models.contract.limits import (
    FileTooLargeError,
    ReadLimits,
    check_csv_header,
    check_file_size,
    csv_header_width,
    open_parquet,
    short_name,
    text_bytes,
)
from models.contract.mapping import ColumnMapping, load_mapping
from models.contract.validate import ReadResult, validate_chunk

__all__ = [
    "BadRowsError",
    "ContractError",
    "FileTooLargeError",
    "MissingColumnError",
    "ReadLimits",
    "ReadResult",
    "iter_entry_lines",
    "parquet_text",
    "read_entry_lines",
    "write_quarantine",
]

MAX_NAMES_LISTED = 5  # duplicated column names quoted in a message
MIN_CHUNK_ROWS = 1024  # a chunk bounded by cells still takes at least this many rows
SCAN_ROWS = 65_536  # rows per batch when a whole file's text is measured before reading it


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
    """A Parquet table as text columns (ints stay '3', dates become '2024-03-14')."""
    cols = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        cols[name] = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
    return pa.table(cols).to_pandas().astype("str")


def _duplicates(names: Sequence[str]) -> list[str]:
    dup = sorted(n for n, k in Counter(names).items() if k > 1)
    return [short_name(n) for n in dup[:MAX_NAMES_LISTED]]


def _check_csv_header(path: Path) -> None:
    """Refuse a header naming a column twice (pandas would silently rename one ``x.1``)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        raise ContractError(f"{path}: duplicate column(s) {_duplicates(names)} in the header")


def _chunk_size(chunk_rows: int | None, chunk_cells: int | None, n_columns: int) -> int | None:
    """Rows per chunk: at most ``chunk_rows``, and at most ``chunk_cells`` cells."""
    if chunk_cells is None:
        return chunk_rows
    by_cells = max(MIN_CHUNK_ROWS, chunk_cells // max(1, n_columns))
    return min(chunk_rows, by_cells) if chunk_rows else by_cells


def _parquet_chunks(
    path: Path, chunk_rows: int | None, limits: ReadLimits, chunk_cells: int | None
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    start = 1  # Parquet has no lines: rows are numbered by 1-based position.
    with open_parquet(path, limits) as pf:
        names = pf.schema_arrow.names
        if len(set(names)) != len(names):
            raise ContractError(f"{path}: duplicate column(s) {_duplicates(names)}")
        size = _chunk_size(chunk_rows, chunk_cells, len(names))
        if limits.max_text_bytes is not None:
            # Measured before any row is validated: strings are still dictionary-encoded.
            total = 0
            for batch in pf.iter_batches(batch_size=size or SCAN_ROWS):
                total += sum(text_bytes(c) for c in batch.columns)
                if total > limits.max_text_bytes:
                    raise FileTooLargeError("bytes of text", limits.max_text_bytes)
        for batch in pf.iter_batches(batch_size=size) if size else [pf.read()]:
            df = parquet_text(batch)
            yield df, np.arange(start, start + len(df), dtype=np.int64)
            start += len(df)
        if start == 1:  # no rows: still the columns, so a missing one is named
            yield pd.DataFrame({n: pd.Series(dtype="str") for n in names}), np.arange(0)


def _raw_chunks(
    path: Path,
    chunk_rows: int | None,
    limits: ReadLimits | None = None,
    chunk_cells: int | None = None,
) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Yield (text frame, row numbers) chunks of a CSV or Parquet file; blank lines skipped.

    Raises:
        FileTooLargeError: The file holds more than ``limits`` allow (checked before reading
            where the file says: Parquet metadata, the CSV header; else chunk by chunk).
        ContractError: The file cannot be read.
    """
    limits = limits or ReadLimits()
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            yield from _parquet_chunks(path, chunk_rows, limits, chunk_cells)
        except FileNotFoundError as exc:
            raise unreadable(path, exc) from exc
        except (pa.ArrowException, OSError) as exc:  # not Parquet, truncated, unreadable type
            raise ContractError(f"{path}: cannot read as Parquet: {exc}") from exc
        return
    if suffix not in (".csv", ".txt"):
        raise ContractError(f"{path}: unsupported file type '{suffix}' (use .csv or .parquet)")
    check_file_size(path, limits)
    check_csv_header(path, limits)
    # na_filter=False: 'NA' is Namibia, not missing. Blank lines are kept so row numbers are
    # the editor's line numbers (header = line 1), and dropped below.
    start = 2
    n_rows = 0
    try:
        _check_csv_header(path)
        size = chunk_rows
        if chunk_cells is not None:
            size = _chunk_size(chunk_rows, chunk_cells, csv_header_width(path, None))
        with pd.read_csv(
            path,
            dtype=str,
            encoding="utf-8-sig",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            iterator=True,
            chunksize=size,
        ) as reader:
            for df in reader if size else [reader.read()]:
                rows = np.arange(start, start + len(df), dtype=np.int64)
                start += len(df)
                blank = (df == "").all(axis=1).to_numpy()
                rows = rows[~blank]
                n_rows += len(rows)
                if limits.max_rows is not None and n_rows > limits.max_rows:
                    raise FileTooLargeError("rows", limits.max_rows)
                yield df[~blank].reset_index(drop=True), rows
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise ContractError(f"{path}: cannot parse as UTF-8 CSV: {exc}") from exc
    except OSError as exc:  # missing, a folder, no permission
        raise unreadable(path, exc) from exc


def unreadable(path: Path, exc: OSError) -> ContractError:
    """The error for an input file that cannot be opened, in words (no errno, no traceback)."""
    return ContractError(
        f"cannot read {path}: {exc.strerror or exc}",
        "Check the path (relative paths start from the current folder) and that the file "
        "is readable.",
    )


def _resolve(mapping: ColumnMapping | Path | str | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    return load_mapping(mapping)


def _default_quarantine(path: Path) -> Path:
    return path.with_name(f"{path.stem}.quarantine.csv")


def read_entry_lines(
    paths: Path | str | Sequence[Path | str],
    mapping: ColumnMapping | Path | str | None = None,
    *,
    allow_bad_rows: bool = False,
    quarantine_path: Path | None = None,
    require_labels: bool = False,
    limits: ReadLimits | None = None,
) -> ReadResult:
    """Read, map and validate one or more CSV/Parquet files of entry lines.

    Args:
        paths: A file or several (concatenated; row numbers are per file).
        mapping: A column mapping (or its TOML path) for a foreign layout.
        allow_bad_rows: Return the good rows when some are bad instead of raising.
        quarantine_path: Where to write bad rows; default ``<first stem>.quarantine.csv``
            beside the first input.
        require_labels: Refuse files without the ``inspected`` and ``violation`` columns.
        limits: What each file may hold (:class:`ReadLimits`); default: no limit.

    Returns:
        Good rows of all files and the report of the bad ones.

    Raises:
        FileTooLargeError: A file holds more than ``limits`` allow.
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
        for original, rows in _raw_chunks(path, None, limits):
            result, quarantine = validate_chunk(
                original, rows, cmap, require_labels=require_labels, source=path.name, seen=seen
            )
            results.append(result)
            if quarantine is not None:
                # Several inputs: say which file each quarantined row came from.
                quarantines.append(
                    quarantine.assign(_source=path.name) if len(plist) > 1 else quarantine
                )
    lines = Lines.concat([r.lines for r in results])
    bad_rows = pd.concat([r.bad_rows for r in results], ignore_index=True)
    qpath = None
    if quarantines:
        qpath = quarantine_path or _default_quarantine(plist[0])
        write_quarantine(pd.concat(quarantines, ignore_index=True), qpath)
        if not allow_bad_rows:
            raise BadRowsError(bad_rows, qpath)
    return ReadResult(lines, bad_rows, sum(r.n_read for r in results), qpath)


def iter_entry_lines(
    path: Path | str,
    mapping: ColumnMapping | Path | str | None = None,
    *,
    chunk_rows: int = 500_000,
    allow_bad_rows: bool = False,
    quarantine_path: Path | None = None,
    require_labels: bool = False,
    limits: ReadLimits | None = None,
    chunk_cells: int | None = None,
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
        limits: What the file may hold (:class:`ReadLimits`); default: no limit.
        chunk_cells: Also cap each chunk at this many cells (rows x the file's columns), so
            a wide file is read in shorter chunks.

    Yields:
        One result per chunk; ``quarantine_path`` is set once bad rows have been written.

    Raises:
        FileTooLargeError: The file holds more than ``limits`` allow.
        MissingColumnError: A required or mapped column is absent.
        BadRowsError: Bad rows exist and ``allow_bad_rows`` is False.
        ContractError: The file is unreadable or the quarantine cannot be written.
    """
    path = Path(path)
    cmap = _resolve(mapping)
    seen = SeenKeys()
    qpath: Path | None = None
    for original, rows in _raw_chunks(path, chunk_rows, limits, chunk_cells):
        result, quarantine = validate_chunk(
            original, rows, cmap, require_labels=require_labels, source=path.name, seen=seen
        )
        if quarantine is not None:
            append = qpath is not None
            qpath = quarantine_path or _default_quarantine(path)
            write_quarantine(quarantine, qpath, append=append)
            if not allow_bad_rows:
                raise BadRowsError(result.bad_rows, qpath)
        yield ReadResult(result.lines, result.bad_rows, result.n_read, qpath)
