"""Uploaded files of entry lines: the one path the API's file scoring and the workbench share.

:func:`read_upload` copies an upload to a private temporary folder, reads it with the
contract reader in chunks, within the upload limits of the settings, and returns the good
lines and the first rows of the bad-row report; or it raises :class:`UploadRefusedError`
with the status to answer and a message that names the problem. A file is bounded by what it
holds, not only by its bytes: a 357 KB Parquet file can hold four million rows. The API's
``POST /v1/score/file`` answers the status with the message (and the report); the workbench
shows the message to the officer.

Messages never carry a server path (the copy's folder is replaced by "the file") and bad-row
values are cut to ``VALUE_CHARS`` printable characters.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from starlette.datastructures import UploadFile

from models.contract.batch import Lines
from models.contract.columns import ContractError
from models.contract.reader import FileTooLargeError, ReadLimits, iter_entry_lines
from models.settings import Settings
from serving.errors import public_text

# The reader picks its parser by suffix: the upload's name (or type) decides which it gets.
SUFFIXES = {".csv": ".csv", ".txt": ".csv", ".parquet": ".parquet", ".pq": ".parquet"}
CONTENT_TYPES = {"text/csv": ".csv", "application/vnd.apache.parquet": ".parquet"}
BLOCK = 1 << 20
# Read in chunks of at most this many rows and cells: memory stays bounded however many
# columns the file has (a chunk of 2M cells of text is a few hundred MB at most).
CHUNK_ROWS = 100_000
CHUNK_CELLS = 2_000_000
MAX_REPORT_ROWS = 1000  # bad-row report rows kept and returned (the total is counted)
VALUE_CHARS = 80  # a bad cell's value in the report is cut to this length
ADVICE = {  # what to do about a file past a limit, by what is counted
    "columns": "Keep the data contract's columns only.",
    "row groups": "Write it with fewer, larger row groups.",
}
REASON_CHARS = 200


def read_limits(settings: Settings) -> ReadLimits:
    """What one upload may hold, from the settings."""
    return ReadLimits(
        max_rows=settings.max_upload_rows,
        max_columns=settings.max_upload_columns,
        max_row_groups=settings.max_upload_row_groups,
        max_text_bytes=settings.max_upload_text_bytes,
    )


def upload_suffix(filename: str | None, content_type: str | None = None) -> str | None:
    """``.csv`` or ``.parquet`` for an upload: by its name, else by its content type.

    Args:
        filename: The upload's file name.
        content_type: Its declared type; None to go by the name alone.

    Returns:
        The suffix the reader needs, or None for any other kind of file.
    """
    name = (filename or "").lower()
    for ext, kind in SUFFIXES.items():
        if name.endswith(ext):
            return kind
    ctype = (content_type or "").split(";")[0].strip().lower()
    return CONTENT_TYPES.get(ctype)


def report_rows(report: pd.DataFrame, limit: int = MAX_REPORT_ROWS) -> list[dict[str, Any]]:
    """The first rows of a bad-row report as plain dicts: row, column, value, reason.

    Values and reasons are made printable and cut (``VALUE_CHARS``, ``REASON_CHARS``): a cell
    can be megabytes long, and an answer must stay small and encodable.
    """
    if not len(report):
        return []
    return [
        {
            "row": int(str(r.row)),
            "column": public_text(r.column, VALUE_CHARS),
            "value": public_text(r.value, VALUE_CHARS),
            "reason": public_text(r.reason, REASON_CHARS),
        }
        for r in report.head(limit).itertuples(index=False)
    ]


class UploadRefusedError(Exception):
    """An upload that cannot be scored: the status to answer and why.

    Attributes:
        status: 413 (holds more than a limit), 415 (not CSV or Parquet), 422 (unreadable,
            a missing column, no row that can be scored), 503 (the server cannot store it).
        message: What is wrong and what to do, in a sentence (no path, no submitted value).
        report: The first rows of the bad-row report (:func:`report_rows`).
        bad_rows_total: Problems in the whole file.
        n_read: Rows read; None when the file was refused before its rows were read.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        report: list[dict[str, Any]] | None = None,
        bad_rows_total: int = 0,
        n_read: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.report = report or []
        self.bad_rows_total = bad_rows_total
        self.n_read = n_read

    def body(self) -> dict[str, Any]:
        """The API's answer: ``detail``, and the bad-row report when the rows were read."""
        out: dict[str, Any] = {"detail": self.message}
        if self.n_read is not None:
            out |= {"n_read": self.n_read, "bad_rows": self.report,
                    "bad_rows_total": self.bad_rows_total}  # fmt: skip
        return out


@dataclass
class UploadRead:
    """An upload read: its good lines and the head of its bad-row report.

    Attributes:
        lines: The good rows.
        bad_rows: The first ``MAX_REPORT_ROWS`` rows of the report (row, column, value, ...).
        bad_rows_total: Problems in the whole file.
        n_read: Rows read (good + bad).
        sha256: Hex SHA-256 of the uploaded bytes.
    """

    lines: Lines
    bad_rows: pd.DataFrame
    bad_rows_total: int
    n_read: int
    sha256: str
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        """The good rows as a DataFrame."""
        if self._frame is None:
            self._frame = self.lines.to_frame()
        return self._frame


@dataclass(frozen=True)
class UploadCopy:
    """An upload copied to a private temporary folder (removed when its block ends).

    Attributes:
        path: The copy, named with the suffix the reader needs.
        quarantine: Where the reader writes the bad rows, in the same folder.
        sha256: Hex SHA-256 of the uploaded bytes.
        size: Bytes uploaded.
    """

    path: Path
    quarantine: Path
    sha256: str
    size: int


@contextmanager
def upload_copy(
    upload: UploadFile, data_dir: Path, suffix: str, prefix: str
) -> Iterator[UploadCopy]:
    """Copy an upload into a private folder under ``data_dir``, for the block's duration.

    Args:
        upload: The uploaded file (read from its current position).
        data_dir: The folder the temporary folder is made in (created if absent).
        suffix: ``.csv`` or ``.parquet`` (see :func:`upload_suffix`).
        prefix: The temporary folder's name prefix.

    Raises:
        OSError: The copy could not be written (disk full, folder not writable).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=prefix) as tmp:
        path = Path(tmp) / f"lines{suffix}"
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            while block := upload.file.read(BLOCK):
                digest.update(block)
                size += len(block)
                out.write(block)
        yield UploadCopy(path, Path(tmp) / "quarantine.csv", digest.hexdigest(), size)


def _scrub(message: str, copy: UploadCopy, data_dir: Path) -> str:
    """A reader's message without the server's paths: the copy is "the file"."""
    for path in (copy.path, copy.path.resolve()):
        if message.startswith(f"{path}: "):
            message = message[len(f"{path}: ") :]
        message = message.replace(str(path), "the file")
    for folder in (copy.path.parent, copy.path.parent.resolve(), data_dir, data_dir.resolve()):
        message = message.replace(str(folder), "…")
    return public_text(message)


def read_copy(copy: UploadCopy, limits: ReadLimits) -> UploadRead:
    """Read an upload's copy in chunks within ``limits``; bad rows reported, not fatal.

    Keeps the good lines and the first ``MAX_REPORT_ROWS`` report rows; counts the rest.

    Raises:
        FileTooLargeError: The file holds more than ``limits`` allow.
        ContractError: The file is refused (a missing required column, no readable table,
            the quarantine could not be written: then its ``__cause__`` is the ``OSError``).
    """
    parts: list[Lines] = []
    heads: list[pd.DataFrame] = []
    kept = total = n_read = 0
    for chunk in iter_entry_lines(
        copy.path, chunk_rows=CHUNK_ROWS, chunk_cells=CHUNK_CELLS, allow_bad_rows=True,
        quarantine_path=copy.quarantine, limits=limits,
    ):  # fmt: skip
        n_read += chunk.n_read
        total += len(chunk.bad_rows)
        if len(chunk.lines):
            parts.append(chunk.lines)
        if kept < MAX_REPORT_ROWS and len(chunk.bad_rows):
            heads.append(chunk.bad_rows.head(MAX_REPORT_ROWS - kept))
            kept += len(heads[-1])
    bad_rows = pd.concat(heads, ignore_index=True) if heads else pd.DataFrame()
    if not parts:
        if n_read:
            message = (
                f"None of the {n_read:,} rows can be scored: every row breaks the data "
                "contract. The bad-row report says which row, which column and why."
            )
        else:
            message = "The file holds no rows: a header alone, or an empty table."
        raise UploadRefusedError(
            422, message, report=report_rows(bad_rows), bad_rows_total=total, n_read=n_read
        )
    return UploadRead(Lines.concat(parts), bad_rows, total, n_read, copy.sha256)


def read_upload(
    upload: UploadFile,
    settings: Settings,
    *,
    by_type: bool = True,
    prefix: str = "upload-",
) -> UploadRead:
    """Copy an upload to a private temporary folder and read it within the upload limits.

    Args:
        upload: The uploaded file.
        settings: Its ``data_dir`` holds the temporary folder; its limits bound the file.
        by_type: Also accept a file by its declared content type (the API); the workbench
            goes by the name alone (what the officer sees and can fix).
        prefix: The temporary folder's name prefix.

    Raises:
        UploadRefusedError: The file cannot be scored (see its ``status`` and ``message``).
    """
    suffix = upload_suffix(upload.filename, upload.content_type if by_type else None)
    if suffix is None:
        raise UploadRefusedError(
            415,
            "The file is not a CSV or Parquet file: upload a .csv or .parquet file of entry "
            "lines (see the data contract).",
        )
    data_dir = settings.data_dir
    try:
        with upload_copy(upload, data_dir, suffix, prefix) as copy:
            if copy.size == 0:
                raise UploadRefusedError(422, "The file is empty.")
            try:
                return read_copy(copy, read_limits(settings))
            except FileTooLargeError as exc:
                what_to_do = ADVICE.get(exc.what, "Split the file.")
                raise UploadRefusedError(
                    413, f"Too large: {_scrub(str(exc), copy, data_dir)}. {what_to_do}"
                ) from None
            except ContractError as exc:
                if isinstance(exc.__cause__, OSError):  # the quarantine could not be written
                    raise UploadRefusedError(
                        503,
                        "cannot write the quarantine record of the bad rows "
                        f"({type(exc.__cause__).__name__}); nothing was scored",
                    ) from None
                raise UploadRefusedError(422, _scrub(str(exc), copy, data_dir)) from None
            except ValueError as exc:  # anything else the file makes unreadable
                kind = suffix[1:].upper()
                raise UploadRefusedError(
                    422, f"The file could not be read as {kind} ({type(exc).__name__})."
                ) from None
    except OSError as exc:  # disk full, data folder not writable: say so, score nothing
        raise UploadRefusedError(
            503, f"cannot store the upload ({type(exc).__name__}); nothing was scored"
        ) from None
