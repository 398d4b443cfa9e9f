"""Uploaded files of entry lines: which kind a file is, and reading it through a private copy.

The API's ``POST /v1/score/file`` and the workbench's upload share this; each says in its own
terms (a status code, a sentence for an officer) why a file was refused.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile

from models.contract.reader import ReadResult, read_entry_lines

# The reader picks its parser by suffix: the upload's name (or type) decides which it gets.
SUFFIXES = {".csv": ".csv", ".txt": ".csv", ".parquet": ".parquet", ".pq": ".parquet"}
CONTENT_TYPES = {"text/csv": ".csv", "application/vnd.apache.parquet": ".parquet"}
BLOCK = 1 << 20


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


def read_copy(copy: UploadCopy) -> ReadResult:
    """Read an upload's copy with the contract reader: bad rows reported, not fatal.

    Raises:
        ContractError: The file is refused (a missing required column, no readable table,
            the quarantine could not be written: then its ``__cause__`` is the ``OSError``).
    """
    return read_entry_lines(copy.path, allow_bad_rows=True, quarantine_path=copy.quarantine)
