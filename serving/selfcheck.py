"""The supplier self-check for the API (``POST /v1/check``) and the page (``/check``).

Both front ends hand the upload (or the JSON records) to :func:`check_upload` /
:func:`check_records`, which read the list and run :func:`models.check.report.run_check`
in the thread pool, and both answer :func:`answer`: so the command, the API and the page
agree. Nothing here reads the store or the model: the check rests on public lists only.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from models.check.report import CheckReport, run_check
from models.check.suppliers import SupplierFileError, read_suppliers, suppliers_from_records
from models.settings import Settings
from serving.errors import public_text
from serving.uploads import report_rows, upload_copy, upload_suffix

MAX_FORM_FIELDS = 5


class CheckRefusedError(Exception):
    """A supplier list that cannot be checked: the status to answer and why (no path)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _read_and_check(path: Any, max_rows: int, today: date) -> CheckReport:
    try:
        return run_check(read_suppliers(path, max_rows=max_rows), today)
    except SupplierFileError as exc:
        # The reader names the copy's file; the caller knows the file as "the file".
        text = str(exc).replace(path.name, "the file")
        status = 413 if "more than" in text else 415 if "not a .csv" in text else 422
        raise CheckRefusedError(status, public_text(f"{text}. {exc.hint}", 400)) from None


async def check_upload(upload: Any, settings: Settings, today: date | None = None) -> CheckReport:
    """Check an uploaded supplier list (CSV or Parquet).

    Args:
        upload: The form's ``file`` field (anything else is refused, 422).
        settings: The upload limits and the data folder the copy is made in.
        today: The day the lists are judged on (default today).

    Raises:
        CheckRefusedError: No file (422), not CSV or Parquet (415), more rows than an upload
            may hold (413), unreadable or a required column missing (422).
    """
    if not isinstance(upload, UploadFile):
        raise CheckRefusedError(422, "send the supplier list as the form field 'file'")
    suffix = upload_suffix(upload.filename, upload.content_type)
    if suffix is None:
        raise CheckRefusedError(415, "the supplier list must be a .csv or .parquet file")
    day = today or date.today()

    def work() -> CheckReport:
        with upload_copy(upload, settings.data_dir, suffix, "check-") as copy:
            return _read_and_check(copy.path, settings.max_upload_rows, day)

    return await run_in_threadpool(work)


async def check_records(body: bytes, settings: Settings, today: date | None = None) -> CheckReport:
    """Check a supplier list sent as JSON: ``{"suppliers": [{"supplier_id": ..., ...}, ...]}``.

    Raises:
        CheckRefusedError: Not that shape (422), or more rows than an upload may hold (413).
    """
    day = today or date.today()

    def work() -> CheckReport:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise CheckRefusedError(422, "the body is not JSON") from None
        rows = parsed.get("suppliers") if isinstance(parsed, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise CheckRefusedError(422, 'the body must be {"suppliers": [objects]}')
        if len(rows) > settings.max_upload_rows:
            raise CheckRefusedError(413, f"more than {settings.max_upload_rows} suppliers")
        try:
            return run_check(suppliers_from_records(rows), day)
        except SupplierFileError as exc:
            raise CheckRefusedError(422, public_text(f"{exc}. {exc.hint}", 400)) from None

    return await run_in_threadpool(work)


def answer(report: CheckReport) -> dict[str, Any]:
    """The check's answer: findings per supplier, tiers, cycles, the first bad rows."""
    payload = report.payload()
    payload["bad_rows_total"] = len(report.bad_rows)
    payload["bad_rows"] = report_rows(report.bad_rows)
    return payload
