"""Cases: the records the API and the workbench accept, and reading an attached document.

Both front ends open and change cases through :mod:`models.cases` with these records, and
attach documents through :func:`read_document`, so a case is the same whichever way it came.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from models.documents import MAX_DOCUMENT_BYTES, DocumentError, check_document

CaseStatus = Literal["detained", "admissibility_review", "released", "excluded", "re_exported"]


class CaseLine(BaseModel):
    """A line of a case: the decision it is about (default: the line's latest scoring)."""

    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(min_length=1, max_length=128)
    line_no: int = Field(ge=1, le=999_999_999)
    decision_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class CaseIn(BaseModel):
    """A case to open (status ``detained``)."""

    model_config = ConfigDict(extra="forbid")

    lines: list[CaseLine] = Field(min_length=1, max_length=500)
    tip_ids: list[int] = Field(default_factory=list, max_length=50)
    title: str | None = Field(default=None, max_length=256)
    owner: str | None = Field(default=None, max_length=64, description="Default: the opener")
    inspection_reason: Literal["targeted", "random", "tip"] | None = Field(
        default=None, description="Default: tip when tips are linked, else targeted"
    )
    date: dt.date | None = Field(default=None, description="Detention date (default: today)")
    note: str | None = Field(default=None, max_length=5000)


class CaseChange(BaseModel):
    """A change to a case: any of status (with its date), owner, note, tips, lines."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatus | None = None
    date: dt.date | None = Field(default=None, description="The status's date (default: today)")
    owner: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=5000)
    tip_ids: list[int] = Field(default_factory=list, max_length=50)
    lines: list[CaseLine] = Field(default_factory=list, max_length=500)


async def read_document(upload: UploadFile) -> tuple[str, bytes, str]:
    """An uploaded document's name, bytes and media type (told by its content).

    Reads at most one byte past the limit, so an oversized file is refused without being
    held whole.

    Raises:
        DocumentError: Empty, too large, or not an accepted type.
    """
    # Only plain characters: the name goes back out in a Content-Disposition header.
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", upload.filename or "document")[-200:]
    content = await upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{name}: larger than {MAX_DOCUMENT_BYTES:,} bytes")
    return name, content, check_document(name, content)
