"""What one file of entry lines may hold, checked before it is read and while it is read.

A file's size on disk does not bound what it holds: a 357 KB Parquet file can hold four
million rows (dictionary and run-length encoding), a 7.9 MB CSV a million columns. The reader
(:mod:`models.contract.reader`) takes :class:`ReadLimits` and refuses a file past them with
:class:`FileTooLargeError`, naming the limit:

- a CSV's header is counted before pandas sees the file; its rows while it is read in chunks;
- a Parquet file's footer size, rows, columns, row groups and column types are checked from
  its metadata before any data page is read; its text is measured chunk by chunk with string
  columns still dictionary-encoded, before they are expanded.

Text is measured as a CSV of the same cells would be: every cell counts its characters' UTF-8
bytes plus one (its separator). So a Parquet file may hold no more than a CSV upload may carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models.contract.columns import ContractError

# Read in blocks while counting a CSV header's fields; a header line is rarely this long.
HEADER_BLOCK = 1 << 16
# A Parquet footer (thrift metadata) larger than this is refused before it is parsed: 1,000
# row groups of 40 columns take about 4 MB.
MAX_FOOTER_BYTES = 16 << 20
PARQUET_MAGIC = b"PAR1"
NAME_CHARS = 64  # a column name quoted in a message is cut to this length


@dataclass(frozen=True)
class ReadLimits:
    """What one file may hold; ``None``: no limit.

    Attributes:
        max_rows: Rows (blank CSV lines are not rows).
        max_columns: Columns of the file, used or not.
        max_row_groups: Parquet row groups.
        max_text_bytes: Text the file holds once read, measured as the bytes of a CSV of the
            same cells (each cell's UTF-8 bytes plus one); for a CSV, its size on disk.
    """

    max_rows: int | None = None
    max_columns: int | None = None
    max_row_groups: int | None = None
    max_text_bytes: int | None = None


class FileTooLargeError(ContractError):
    """A file holds more than a limit allows (the API answers 413).

    Attributes:
        what: What is counted: ``rows``, ``columns``, ``row groups``, ``bytes of text``,
            ``bytes of Parquet metadata``.
        limit: The limit.
        found: How many the file holds, when known (``None``: at least ``limit + 1``).
    """

    def __init__(self, what: str, limit: int, found: int | None = None) -> None:
        self.what, self.limit, self.found = what, limit, found
        holds = f"{found:,}" if found is not None else f"more than {limit:,}"
        super().__init__(f"the file holds {holds} {what}: the limit is {limit:,}")


def short_name(name: object) -> str:
    """A column name as a message may quote it: printable and at most ``NAME_CHARS`` long."""
    text = "".join(c if c.isprintable() else "?" for c in str(name))
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def _over(what: str, limit: int | None, found: int) -> None:
    if limit is not None and found > limit:
        raise FileTooLargeError(what, limit, found)


def check_file_size(path: Path, limits: ReadLimits) -> None:
    """Refuse a CSV larger on disk than the text limit (its text is its bytes)."""
    _over("bytes of text", limits.max_text_bytes, path.stat().st_size)


def csv_header_width(path: Path, limit: int | None) -> int:
    """Fields in a CSV's header line, counted in blocks; counting stops past ``limit``.

    Commas and line ends inside double quotes do not count. The header is never held whole,
    so a million-column header costs one block of memory.

    Returns:
        The number of fields, or ``limit + 1`` (or more) as soon as the header has more.
    """
    fields = 1
    quoted = False
    with path.open("rb") as fh:
        while block := fh.read(HEADER_BLOCK):
            for i, part in enumerate(block.split(b'"')):
                if i:
                    quoted = not quoted  # a doubled quote "" toggles twice: no change
                if quoted:
                    continue
                ends = [p for p in (part.find(b"\n"), part.find(b"\r")) if p >= 0]
                if ends:
                    return fields + part.count(b",", 0, min(ends))
                fields += part.count(b",")
                if limit is not None and fields > limit:
                    return fields
    return fields


def check_csv_header(path: Path, limits: ReadLimits) -> None:
    """Refuse a CSV whose header has more fields than ``max_columns``, before parsing it."""
    if limits.max_columns is not None:
        width = csv_header_width(path, limits.max_columns)
        if width > limits.max_columns:
            raise FileTooLargeError("columns", limits.max_columns)


def _footer_size(path: Path) -> int:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        if size < 12:
            raise ContractError(f"not a Parquet file ({size} bytes)")
        fh.seek(size - 8)
        tail = fh.read(8)
    footer = int.from_bytes(tail[:4], "little")
    if tail[4:] != PARQUET_MAGIC or footer > size - 12:
        raise ContractError("not a Parquet file (no Parquet footer)")
    return footer


def _is_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )  # fmt: skip


def _flat(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _flat(t.value_type)
    return bool(
        _is_text(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
        or pa.types.is_boolean(t) or pa.types.is_temporal(t) or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )  # fmt: skip


def open_parquet(path: Path, limits: ReadLimits) -> pq.ParquetFile:
    """Open a Parquet file for reading in chunks, after checking what its metadata declares.

    Checked before any data page is read: the footer's size, then rows, columns, row groups,
    cells (each counts one byte of text) and column types (flat ones only: a list column
    could hold any number of values per row). With a text limit, string columns are opened
    dictionary-encoded, so :func:`text_bytes` can measure a chunk before it is expanded.

    Raises:
        FileTooLargeError: Past a limit.
        ContractError: Not a Parquet file, or a nested column.
        pyarrow.ArrowException, OSError: Unreadable metadata (the reader makes these a
            ``ContractError``).
    """
    footer = _footer_size(path)
    _over("bytes of Parquet metadata", MAX_FOOTER_BYTES, footer)
    meta = pq.read_metadata(path)
    _over("rows", limits.max_rows, meta.num_rows)
    _over("columns", limits.max_columns, meta.num_columns)
    _over("row groups", limits.max_row_groups, meta.num_row_groups)
    _over("bytes of text", limits.max_text_bytes, meta.num_rows * meta.num_columns)
    schema = meta.schema.to_arrow_schema()
    nested = [f.name for f in schema if not _flat(f.type)]
    if nested:
        raise ContractError(
            f"column '{short_name(nested[0])}' is of a nested type: entry lines are flat "
            "(text, numbers, dates)"
        )
    if limits.max_text_bytes is None:  # nothing to measure: read as written
        return pq.ParquetFile(path, metadata=meta)
    texts = [f.name for f in schema if _is_text(f.type)]
    return pq.ParquetFile(path, metadata=meta, read_dictionary=texts or None)


def text_bytes(col: pa.Array | pa.ChunkedArray) -> int:
    """Bytes of a column's text as a CSV would hold it (UTF-8 bytes + 1 per cell).

    Dictionary-encoded columns are measured without expanding them; other columns are
    measured as text (numbers and dates as they are written out).
    """
    n = len(col)
    if isinstance(col, pa.ChunkedArray):
        return sum(text_bytes(c) for c in col.chunks)
    if pa.types.is_dictionary(col.type):
        lengths = pc.binary_length(col.dictionary)
        total = pc.sum(pc.take(lengths, col.indices)).as_py()
    elif pa.types.is_null(col.type):
        total = 0
    elif _is_text(col.type):
        total = pc.sum(pc.binary_length(col)).as_py()
    else:
        total = pc.sum(pc.binary_length(pc.cast(col, pa.large_string()))).as_py()
    return int(total or 0) + n
