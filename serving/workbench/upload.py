"""Reading an officer's upload (:mod:`serving.uploads`), failing with words, not a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from starlette.datastructures import UploadFile

from models.contract.columns import ContractError
from models.contract.reader import ReadResult
from serving.uploads import read_copy, upload_copy, upload_suffix

MAX_REPORT_ROWS = 200


class UploadRefusedError(Exception):
    """The file cannot be scored: why, and the reader's quarantine report if it has one."""

    def __init__(self, message: str, bad_rows: pd.DataFrame | None = None, n_read: int = 0):
        super().__init__(message)
        self.message = message
        self.bad_rows = bad_rows if bad_rows is not None else pd.DataFrame()
        self.n_read = n_read

    @property
    def report(self) -> list[dict[str, Any]]:
        """The first rows of the quarantine report (row, column, value, reason)."""
        return [
            {str(k): v for k, v in r.items()}
            for r in self.bad_rows.head(MAX_REPORT_ROWS).to_dict("records")
        ]


def read_upload(upload: UploadFile, data_dir: Path) -> ReadResult:
    """Copy the upload to a private temp folder and read it (bad rows reported, not fatal).

    Raises:
        UploadRefusedError: Wrong kind of file, a missing required column, an unreadable file, or
            no row that passes the contract.
    """
    suffix = upload_suffix(upload.filename)  # by its name only: what the officer sees and fixes
    if suffix is None:
        raise UploadRefusedError(
            f"'{upload.filename or ''}' is not a CSV or Parquet file. Upload a .csv or .parquet "
            "file of entry lines (see the data contract)."
        )
    with upload_copy(upload, data_dir, suffix, "wb-upload-") as copy:
        if copy.size == 0:
            raise UploadRefusedError("The file is empty.")
        try:
            read = read_copy(copy)
        except ContractError as exc:
            raise UploadRefusedError(f"The file was refused: {exc}") from exc
        except (ValueError, OSError) as exc:  # e.g. a binary file named .csv
            raise UploadRefusedError(
                f"The file could not be read as {suffix[1:].upper()}: {type(exc).__name__}."
            ) from exc
    if not len(read.lines):
        raise UploadRefusedError(
            f"None of the {read.n_read} rows can be scored: every row breaks the data "
            "contract. The quarantine report below says which column and why.",
            read.bad_rows,
            read.n_read,
        )
    return read
